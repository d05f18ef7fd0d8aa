//! Zimbra's filter rules in their SOAP form (`filterRules/filterRule` with
//! `filterTests` and `filterActions`) written as the Sieve script Zimbra keeps in
//! `zimbraMailSieveScript` (RFC 5228 plus Zimbra's `tag`, `flag`, `addressbook`, ...
//! extensions): one `# name` comment and one `if` (`disabled_if` when inactive) per
//! rule, a nested rule as an `if` inside its parent's block.

use zcs_core::{ServiceError, ServiceResult};

use super::super::super::element::Element;

/// Quotes `text` as a Sieve string (RFC 5228 §2.4.2): `"` and `\` escaped.
pub(super) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A Sieve string list (RFC 5228 §2.4.2.1) of the comma-separated values of `text`.
fn list(text: &str) -> String {
    let items: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(quote)
        .collect();
    format!("[{}]", items.join(", "))
}

fn bad(what: impl Into<String>) -> ServiceError {
    ServiceError::invalid_request(what.into())
}

fn req<'a>(el: &'a Element, name: &str) -> ServiceResult<&'a str> {
    el.attr(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| bad(format!("{}: missing {name}", el.name)))
}

/// A match type (`is`, `contains`, `matches`) as a Sieve tag (RFC 5228 §2.7.1).
fn match_type(el: &Element) -> ServiceResult<&'static str> {
    match el
        .attr("stringComparison")
        .unwrap_or("contains")
        .to_ascii_lowercase()
        .as_str()
    {
        "is" => Ok(":is"),
        "contains" => Ok(":contains"),
        "matches" => Ok(":matches"),
        other => Err(bad(format!("unknown stringComparison: {other}"))),
    }
}

/// `:comparator "i;octet"` for a case-sensitive comparison (RFC 5228 §2.7.3).
fn comparator(el: &Element) -> ServiceResult<&'static str> {
    Ok(if el.bool_attr("caseSensitive", false)? {
        " :comparator \"i;octet\""
    } else {
        ""
    })
}

/// Relational match (`:value "gt"` / `:count "ge"`, RFC 5231) when the test asks for it.
fn relational(el: &Element) -> ServiceResult<Option<String>> {
    for (attr, tag) in [("valueComparison", ":value"), ("countComparison", ":count")] {
        if let Some(op) = el.attr(attr).filter(|v| !v.is_empty()) {
            let op = op.to_ascii_lowercase();
            if !["gt", "ge", "lt", "le", "eq", "ne"].contains(&op.as_str()) {
                return Err(bad(format!("unknown {attr}: {op}")));
            }
            let numeric = el
                .attr("valueComparisonComparator")
                .is_some_and(|c| c.contains("numeric"))
                || tag == ":count";
            let cmp = if numeric {
                " :comparator \"i;ascii-numeric\""
            } else {
                ""
            };
            return Ok(Some(format!("{tag} {}{cmp}", quote(&op))));
        }
    }
    Ok(None)
}

/// A size with an optional K, M or G suffix (RFC 5228 §2.4.1).
fn size(text: &str) -> ServiceResult<String> {
    let t = text.trim();
    let digits = t.trim_end_matches(['K', 'M', 'G', 'k', 'm', 'g', 'B', 'b']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return Err(bad(format!("invalid size: {t}")));
    }
    let suffix = t[digits.len()..]
        .trim_end_matches(['B', 'b'])
        .to_ascii_uppercase();
    Ok(format!("{digits}{suffix}"))
}

/// The Sieve text of one test of `filterTests`.
fn test(t: &Element) -> ServiceResult<String> {
    let header = || t.attr("header").unwrap_or("").to_string();
    let body = match t.name.as_str() {
        "headerTest" | "mimeHeaderTest" => {
            let cmd = if t.name == "headerTest" {
                "header"
            } else {
                "mime_header"
            };
            let how = match relational(t)? {
                Some(r) => r,
                None => format!("{}{}", match_type(t)?, comparator(t)?),
            };
            format!(
                "{cmd} {how} {} {}",
                list(req(t, "header")?),
                quote(t.attr("value").unwrap_or(""))
            )
        }
        "addressTest" | "envelopeTest" => {
            let cmd = if t.name == "addressTest" {
                "address"
            } else {
                "envelope"
            };
            let part = match t.attr("part").unwrap_or("all") {
                "all" | "" => ":all",
                "localpart" => ":localpart",
                "domain" => ":domain",
                other => return Err(bad(format!("unknown address part: {other}"))),
            };
            let how = match relational(t)? {
                Some(r) => r,
                None => format!("{}{}", match_type(t)?, comparator(t)?),
            };
            format!(
                "{cmd} {part} {how} {} {}",
                list(req(t, "header")?),
                quote(t.attr("value").unwrap_or(""))
            )
        }
        "headerExistsTest" => format!("exists {}", list(req(t, "header")?)),
        "sizeTest" => {
            let how = match t.attr("numberComparison").unwrap_or("over") {
                "over" => ":over",
                "under" => ":under",
                other => return Err(bad(format!("unknown numberComparison: {other}"))),
            };
            format!("size {how} {}", size(req(t, "s")?)?)
        }
        "dateTest" => {
            let how = date_comparison(t)?;
            let secs: i64 = req(t, "d")?
                .trim()
                .parse()
                .map_err(|_| bad("dateTest: d is not a number"))?;
            let day = chrono::DateTime::from_timestamp(secs, 0)
                .ok_or_else(|| bad("dateTest: d out of range"))?
                .format("%Y%m%d")
                .to_string();
            format!("date {how} {}", quote(&day))
        }
        "bodyTest" => format!(
            "body :contains{} {}",
            comparator(t)?,
            quote(t.attr("value").unwrap_or(""))
        ),
        "attachmentTest" => "attachment".into(),
        "addressBookTest" => format!("addressbook :in {}", quote(&header())),
        "contactRankingTest" => format!("contact_ranking :in {}", quote(&header())),
        "meTest" => format!("me :in {}", quote(&header())),
        "inviteTest" => {
            let methods: Vec<String> = t
                .children_named("method")
                .map(|m| quote(m.text().trim()))
                .collect();
            if methods.is_empty() {
                "invite".into()
            } else {
                format!("invite :method [{}]", methods.join(", "))
            }
        }
        "trueTest" => "true".into(),
        "currentTimeTest" => {
            let time = req(t, "time")?;
            if time.len() != 4 || !time.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("invalid time: {time}")));
            }
            format!("current_time {} {}", date_comparison(t)?, quote(time))
        }
        "currentDayOfWeekTest" => format!("current_day_of_week :is {}", list(req(t, "value")?)),
        "conversationTest" => format!(
            "conversation :where {}",
            quote(t.attr("where").unwrap_or("started"))
        ),
        "importanceTest" => format!("importance {}", quote(req(t, "imp")?)),
        "flaggedTest" => format!("flagged {}", quote(req(t, "flagName")?)),
        other => match simple_test_word(other) {
            Some(w) => w.to_string(),
            None => return Err(bad(format!("unknown filter test: {other}"))),
        },
    };
    Ok(if t.bool_attr("negative", false)? {
        format!("not {body}")
    } else {
        body
    })
}

/// Tests without arguments: the SOAP name and the Sieve word.
pub(super) const SIMPLE_TESTS: &[(&str, &str)] = &[
    ("listTest", "list"),
    ("bulkTest", "bulk"),
    ("socialcastTest", "socialcast"),
    ("facebookTest", "facebook"),
    ("linkedinTest", "linkedin"),
    ("twitterTest", "twitter"),
    ("communityRequestsTest", "community_requests"),
    ("communityContentTest", "community_content"),
    ("communityConnectionsTest", "community_connections"),
];

fn simple_test_word(name: &str) -> Option<&'static str> {
    SIMPLE_TESTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, w)| *w)
}

fn date_comparison(t: &Element) -> ServiceResult<&'static str> {
    match t.attr("dateComparison").unwrap_or("before") {
        "before" => Ok(":before"),
        "after" => Ok(":after"),
        other => Err(bad(format!("unknown dateComparison: {other}"))),
    }
}

/// The text of an action's `content` (child element or attribute).
fn content(a: &Element) -> String {
    a.attr("content").unwrap_or("").to_string()
}

/// The Sieve command of one action of `filterActions`.
fn action(a: &Element) -> ServiceResult<String> {
    let copy = |a: &Element| -> ServiceResult<&'static str> {
        Ok(if a.bool_attr("copy", false)? {
            ":copy "
        } else {
            ""
        })
    };
    Ok(match a.name.as_str() {
        "actionKeep" => "keep;".into(),
        "actionDiscard" => "discard;".into(),
        "actionStop" => "stop;".into(),
        "actionFileInto" => format!("fileinto {}{};", copy(a)?, quote(req(a, "folderPath")?)),
        "actionTag" => format!("tag {};", quote(req(a, "tagName")?)),
        "actionFlag" => {
            let f = req(a, "flagName")?;
            if !["read", "flagged", "priority"].contains(&f) {
                return Err(bad(format!("unknown flagName: {f}")));
            }
            format!("flag {};", quote(f))
        }
        "actionRedirect" => format!("redirect {}{};", copy(a)?, quote(req(a, "a")?)),
        "actionReply" => format!("reply {};", quote(&content(a))),
        "actionReject" => format!("reject {};", quote(&content(a))),
        "actionEreject" => format!("ereject {};", quote(&content(a))),
        "actionNotify" => {
            let mut s = format!(
                "notify {} {} {}",
                quote(req(a, "a")?),
                quote(a.attr("su").unwrap_or("")),
                quote(&content(a))
            );
            if let Some(max) = a.attr("maxBodySize").filter(|m| !m.is_empty()) {
                let n: i64 = max.trim().parse().map_err(|_| bad("invalid maxBodySize"))?;
                s.push_str(&format!(" {n}"));
            }
            if let Some(h) = a.attr("origHeaders").filter(|h| !h.is_empty()) {
                s.push_str(&format!(" {}", list(h)));
            }
            s + ";"
        }
        // RFC 5435 §3: `notify [:from s] [:importance "1"|"2"|"3"] [:options l]
        // [:message s] method`, Zimbra's SOAP form carrying the method URI (RFC 5436
        // `mailto:`) as the `method` element.
        // LIMITATION: delivery (zcs_mta::sieve) accepts the command but sends no
        // notification yet; the rule is stored and read back as written.
        "actionRFCCompliantNotify" => {
            let method = a.attr("method").unwrap_or("").trim();
            if method.is_empty() {
                return Err(bad("Missing notification mechanism"));
            }
            let mut s = String::from("notify ");
            if let Some(from) = a.attr("from").filter(|f| !f.is_empty()) {
                s.push_str(&format!(":from {} ", quote(from)));
            }
            if let Some(imp) = a.attr("importance").filter(|i| !i.is_empty()) {
                // RFC 5435 §3.4: 1 high, 2 normal, 3 low.
                if !["1", "2", "3"].contains(&imp.trim()) {
                    return Err(bad(format!("invalid importance: {imp}")));
                }
                s.push_str(&format!(":importance {} ", quote(imp.trim())));
            }
            if let Some(opts) = a.attr("options").filter(|o| !o.is_empty()) {
                s.push_str(&format!(":options {} ", quote(opts)));
            }
            if let Some(msg) = a.attr("message").filter(|m| !m.is_empty()) {
                s.push_str(&format!(":message {} ", quote(msg)));
            }
            s.push_str(&quote(method));
            s + ";"
        }
        "actionLog" => {
            let level = match a.attr("level").unwrap_or("info") {
                l @ ("fatal" | "error" | "warn" | "info" | "debug" | "trace") => l,
                other => return Err(bad(format!("unknown log level: {other}"))),
            };
            format!("log :{level} {};", quote(&content(a)))
        }
        "actionAddheader" => {
            let name = a.attr("headerName").unwrap_or("").trim().to_string();
            if name.is_empty() {
                return Err(bad("actionAddheader: missing headerName"));
            }
            let last = if a.bool_attr("last", false)? {
                ":last "
            } else {
                ""
            };
            format!(
                "addheader {last}{} {};",
                quote(&name),
                quote(a.attr("headerValue").unwrap_or(""))
            )
        }
        // LIMITATION: deleteheader and replaceheader (RFC 5293 with Zimbra's test
        // form) are not written; such rules are refused rather than dropped.
        other => return Err(bad(format!("unsupported filter action: {other}"))),
    })
}

/// Appends the `if` of `rule` (a `filterRule` or `nestedRule`) at `depth`.
fn rule_block(out: &mut String, rule: &Element, depth: usize, active: bool) -> ServiceResult<()> {
    let pad = "    ".repeat(depth);
    let tests_el = rule
        .child("filterTests")
        .ok_or_else(|| bad("filter rule without filterTests"))?;
    let cond = match tests_el.attr("condition").unwrap_or("anyof") {
        "anyof" => "anyof",
        "allof" => "allof",
        other => return Err(bad(format!("unknown condition: {other}"))),
    };
    let mut tests: Vec<(i64, String)> = Vec::new();
    for (i, t) in tests_el.children.iter().enumerate() {
        if t.name == "condition" {
            continue;
        }
        tests.push((t.int_attr("index", i as i64)?, test(t)?));
    }
    if tests.is_empty() {
        return Err(bad("filter rule without tests"));
    }
    tests.sort_by_key(|(i, _)| *i);
    let word = if active { "if" } else { "disabled_if" };
    let joined: Vec<String> = tests.into_iter().map(|(_, t)| t).collect();
    out.push_str(&format!("{pad}{word} {cond} ({}) {{\n", joined.join(", ")));
    if let Some(actions) = rule.child("filterActions") {
        let mut acts: Vec<(i64, String)> = Vec::new();
        for (i, a) in actions.children.iter().enumerate() {
            acts.push((a.int_attr("index", i as i64)?, action(a)?));
        }
        acts.sort_by_key(|(i, _)| *i);
        for (_, a) in acts {
            out.push_str(&format!("{pad}    {a}\n"));
        }
    }
    if let Some(nested) = rule.child("nestedRule") {
        rule_block(out, nested, depth + 1, true)?;
    }
    out.push_str(&format!("{pad}}}\n"));
    Ok(())
}

/// The capabilities a script uses, for its `require` (RFC 5228 §3.2).
fn requires(body: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (needle, cap) in [
        ("fileinto ", "fileinto"),
        (":copy", "copy"),
        ("reject ", "reject"),
        ("ereject ", "ereject"),
        ("tag ", "tag"),
        ("flag ", "flag"),
        ("log :", "log"),
        ("envelope ", "envelope"),
        ("body :", "body"),
        (":value ", "relational"),
        (":count ", "relational"),
        ("i;ascii-numeric", "comparator-i;ascii-numeric"),
        ("addheader ", "editheader"),
    ] {
        if body.contains(needle) && !out.contains(&cap) {
            out.push(cap);
        }
    }
    out
}

/// Whether any action of `el` or of the elements under it is named `name`.
fn uses_action(el: &Element, name: &str) -> bool {
    el.name == name || el.children.iter().any(|c| uses_action(c, name))
}

/// The Sieve script for `rules` (a `filterRules` element): empty when it has no rule.
///
/// # Errors
/// `service.INVALID_REQUEST` for a rule without a name or tests, or a test or action
/// this server cannot write.
pub(crate) fn script(rules: &Element) -> ServiceResult<String> {
    let mut body = String::new();
    for rule in rules.children_named("filterRule") {
        let name = req(rule, "name")?.replace(['\r', '\n'], " ");
        // LIMITATION: filterVariables (Sieve variables) are not written.
        body.push_str(&format!("# {name}\n"));
        rule_block(&mut body, rule, 0, rule.bool_attr("active", true)?)?;
    }
    if body.is_empty() {
        return Ok(String::new());
    }
    let mut caps: Vec<String> = requires(&body).into_iter().map(quote).collect();
    // RFC 5435 §2: the RFC form of notify needs "enotify" (Zimbra's own older notify,
    // with its address, subject and body, needs no capability).
    if uses_action(rules, "actionRFCCompliantNotify") {
        caps.push(quote("enotify"));
    }
    let head = if caps.is_empty() {
        String::new()
    } else {
        format!("require [{}];\n", caps.join(", "))
    };
    Ok(format!("{head}\n{body}"))
}
