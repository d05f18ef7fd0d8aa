//! `zmmailbox`'s right commands (spec/06 §3.1, Zimbra's "right" help topic): the user
//! rights granted on the mailbox's own account (`zimbraACE`: sendAs, sendOnBehalfOf,
//! invite, viewFreeBusy, ...). `getRights gr`, `grantRight grr` and `revokeRight rvr`
//! go to the mail service's permission requests (`Get/Grant/RevokePermissionRequest`),
//! `checkRight ckr` to `CheckRightsRequest`; `listRights lr` prints the catalogue of
//! user rights this build knows, as Zimbra's tool prints its own.
//! Grants on folders are `getFolderGrant`/`modifyFolderGrant` in `contacts`; rights
//! inherited from groups, domains or the global grant are zmprov's (`grr`/`rvr`).
//!
//! LIMITATION: Zimbra's newer client sends `Get/Grant/RevokeRightsRequest` in
//! urn:zimbraAccount for these; this server answers the mail service's older
//! permission requests (same grants, same `ace` elements), which is what is used here.

use serde_json::{Value, json};
use zcs_directory::rights::{RIGHTS, RightClass};

use super::{ACCOUNT, MAIL, Outcome, Parsed, list};
use crate::search::remote::{Remote, first, text};

/// Help lines for this family (appended to `help`).
pub(super) const HELP: &str = concat!(
    "  checkRight(ckr)              {name} {right}\n",
    "\n",
    "  getRights(gr)                [opts] [right1 [right2...]]\n",
    "    -v/--verbose                 verbose output\n",
    "\n",
    "  grantRight(grr)              {account {name}|group {name}|domain ",
    "{name}|all|public|guest {email} {password}|key {email} [{accesskey}]} {[-]right}\n",
    "\n",
    "  listRights(lr)               [opts]\n",
    "    -v/--verbose                 verbose output\n",
    "\n",
    "  revokeRight(rvr)             {account {name}|group {name}|domain ",
    "{name}|all|public|guest {email} {password}|key {email} [{accesskey}]} {[-]right}\n",
    "\n",
    "  A '-' before a right denies it (grr) or names a denial (rvr). Grants an account\n",
    "  inherits (from groups, its domain, the global grant) are made with zmprov grr/rvr.\n",
);

/// Runs `cmd` when it is one of this module's commands; `None` otherwise.
pub(super) async fn run(
    session: &Remote,
    mailbox: &str,
    cmd: &str,
    args: &[String],
) -> Option<Result<Outcome, String>> {
    Some(match cmd {
        "getRights" | "gr" => get(session, mailbox, args).await,
        "grantRight" | "grr" => change(session, mailbox, args, true).await,
        "revokeRight" | "rvr" => change(session, mailbox, args, false).await,
        "checkRight" | "ckr" => check(session, mailbox, args).await,
        "listRights" | "lr" => Parsed::new(args, &[])
            .map(|p| Outcome::Print(list_rights(p.flag(&["-v", "--verbose"])))),
        _ => return None,
    })
}

/// A grantee type as the tool shows it (`usr` is `account`, ...).
pub fn type_display(gt: &str) -> &'static str {
    match gt {
        "usr" => "account",
        "grp" => "group",
        "dom" => "domain",
        "pub" => "public",
        "all" => "all",
        "gst" | "guest" => "guest",
        "key" => "key",
        _ => "unknown",
    }
}

/// Where a grantee type sorts in `gr`'s table: accounts, guests, keys, groups, domains,
/// all, public.
fn type_order(gt: &str) -> u8 {
    match gt {
        "usr" => 0,
        "gst" | "guest" => 1,
        "key" => 2,
        "grp" => 3,
        "dom" => 4,
        "all" => 5,
        "pub" => 6,
        _ => 7,
    }
}

/// A right as shown: `-` before a denied one.
fn right_display(ace: &Value) -> String {
    let deny = matches!(text(&ace["deny"]).as_str(), "1" | "true");
    format!("{}{}", if deny { "-" } else { "" }, text(&ace["right"]))
}

/// `gr`'s table: right, grantee type and grantee, sorted by right, type and name, then
/// an empty line.
pub fn rights_table(aces: &[Value]) -> String {
    let row = |a: &str, b: &str, c: &str| {
        let a: String = a.chars().take(16).collect();
        let b: String = b.chars().take(8).collect();
        format!("{a:>16}  {b:>8}  {c}\n")
    };
    let mut sorted: Vec<&Value> = aces.iter().collect();
    sorted.sort_by_key(|a| {
        (
            text(&a["right"]),
            type_order(&text(&a["gt"])),
            text(&a["d"]),
            !matches!(text(&a["deny"]).as_str(), "1" | "true"),
        )
    });
    let mut out = row("Right", "Type", "Display");
    out.push_str(&row("----------------", "--------", "-------"));
    for a in sorted {
        out.push_str(&row(
            &right_display(a),
            type_display(&text(&a["gt"])),
            &text(&a["d"]),
        ));
    }
    out
}

/// `gr [-v] [right ...]`.
async fn get(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let aces = get_aces(session, mailbox, &p.rest).await?;
    if p.flag(&["-v", "--verbose"]) {
        let dump: Vec<Value> = aces
            .iter()
            .map(|a| {
                json!({ "type": text(&a["gt"]), "name": text(&a["d"]), "id": text(&a["zid"]),
                        "right": text(&a["right"]),
                        "deny": matches!(text(&a["deny"]).as_str(), "1" | "true") })
            })
            .collect();
        return Ok(Outcome::Print(
            serde_json::to_string_pretty(&dump).unwrap_or_default(),
        ));
    }
    Ok(Outcome::Print(rights_table(&aces)))
}

async fn get_aces(
    session: &Remote,
    mailbox: &str,
    rights: &[String],
) -> Result<Vec<Value>, String> {
    let wanted: Vec<Value> = rights.iter().map(|r| json!({ "right": r })).collect();
    let body = if wanted.is_empty() {
        json!({})
    } else {
        json!({ "ace": wanted })
    };
    let r = session
        .request(Some(mailbox), "GetPermissionRequest", MAIL, body)
        .await?;
    Ok(list(&r["ace"]))
}

/// A grant as `grr`/`rvr` name it: grantee type code, grantee, secret, right, deny.
#[derive(Debug, PartialEq, Eq)]
pub struct AceArgs {
    /// Grantee type code (`usr`, `grp`, `dom`, `all`, `pub`, `gst`, `key`).
    pub gt: &'static str,
    /// The grantee's name (none for `all` and `public`).
    pub grantee: Option<String>,
    /// A guest's password or a key grantee's access key.
    pub secret: Option<String>,
    /// The right, without its `-`.
    pub right: String,
    /// Whether the right is denied (`-right`).
    pub deny: bool,
}

/// Reads `{type} [{grantee} [{secret}]] {[-]right}` as `grr` and `rvr` take it.
///
/// # Errors
/// An unknown grantee type or the wrong number of words for it.
pub fn ace_args(words: &[String]) -> Result<AceArgs, String> {
    let kind = words.first().ok_or("missing grantee type")?;
    let n = words.len();
    let wrong = || "wrong number of args".to_string();
    let (gt, grantee, secret, right) = match kind.to_ascii_lowercase().as_str() {
        k @ ("account" | "group" | "domain") => {
            if n != 3 {
                return Err(wrong());
            }
            let gt = match k {
                "account" => "usr",
                "group" => "grp",
                _ => "dom",
            };
            (gt, Some(&words[1]), None, &words[2])
        }
        k @ ("all" | "public") => {
            if n != 2 {
                return Err(wrong());
            }
            (
                if k == "all" { "all" } else { "pub" },
                None,
                None,
                &words[1],
            )
        }
        "guest" => {
            if n != 4 {
                return Err(wrong());
            }
            ("gst", Some(&words[1]), Some(&words[2]), &words[3])
        }
        "key" => match n {
            3 => ("key", Some(&words[1]), None, &words[2]),
            4 => ("key", Some(&words[1]), Some(&words[2]), &words[3]),
            _ => return Err(wrong()),
        },
        other => return Err(format!("unknown grantee type: {other}")),
    };
    let (deny, right) = match right.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, right.as_str()),
    };
    if right.is_empty() {
        return Err("missing right".into());
    }
    Ok(AceArgs {
        gt,
        grantee: grantee.cloned(),
        secret: secret.cloned(),
        right: right.to_string(),
        deny,
    })
}

/// `grr ...` (grant) or `rvr ...` (revoke): prints what changed, Zimbra's way.
async fn change(
    session: &Remote,
    mailbox: &str,
    args: &[String],
    grant: bool,
) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let a = ace_args(&p.rest)?;
    let mut ace = json!({ "gt": a.gt, "right": a.right });
    if a.deny {
        ace["deny"] = json!(true);
    }
    if let Some(s) = &a.secret {
        ace[if a.gt == "key" { "key" } else { "pw" }] = json!(s);
    }
    match (&a.grantee, grant) {
        // Revoking from an account, group or domain names it by id: find the grant.
        (Some(name), false) if matches!(a.gt, "usr" | "grp" | "dom") => {
            let zid = get_aces(session, mailbox, std::slice::from_ref(&a.right))
                .await?
                .into_iter()
                .find(|g| {
                    text(&g["gt"]) == a.gt
                        && (text(&g["d"]).eq_ignore_ascii_case(name)
                            || text(&g["zid"]).eq_ignore_ascii_case(name))
                })
                .map(|g| text(&g["zid"]))
                .ok_or("no such grant")?;
            ace["zid"] = json!(zid);
            ace["d"] = json!(name);
        }
        (Some(name), _) => ace["d"] = json!(name),
        (None, _) => {}
    }
    let (req, word) = if grant {
        ("GrantPermissionRequest", "granted")
    } else {
        ("RevokePermissionRequest", "revoked")
    };
    let r = session
        .request(Some(mailbox), req, MAIL, json!({ "ace": [ace] }))
        .await?;
    let done = list(&r["ace"]);
    if done.is_empty() {
        return Ok(Outcome::Print(format!("  {word} no right")));
    }
    let mut out = format!("  {word}: ");
    for g in done {
        let name = match text(&g["d"]) {
            d if d.is_empty() => a.grantee.clone().unwrap_or_default(),
            d => d,
        };
        out.push_str(&format!(
            "\n    {} {} {}",
            type_display(&text(&g["gt"])),
            name,
            right_display(&g)
        ));
    }
    Ok(Outcome::Print(out))
}

/// `ckr {name} {right}`: whether the logged-in account holds `right` on account
/// `name` (`allowed` or `not allowed`).
async fn check(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let name = p.operand(0, "target name")?;
    let right = p.operand(1, "right")?;
    let r = session
        .request(
            Some(mailbox),
            "CheckRightsRequest",
            ACCOUNT,
            json!({ "target": [{ "type": "account", "by": "name", "key": name,
                                 "right": [{ "_content": right }] }] }),
        )
        .await?;
    let allow = matches!(text(&first(&r["target"])["allow"]).as_str(), "1" | "true");
    Ok(Outcome::Print(
        if allow { "allowed" } else { "not allowed" }.into(),
    ))
}

/// `lr`: each user right with its description, a blank line after each (`-v` adds its
/// target type and whether it is allowed when nothing is granted).
pub fn list_rights(verbose: bool) -> String {
    let mut out = String::new();
    for r in RIGHTS.iter().filter(|r| r.class == RightClass::User) {
        out.push_str(&format!("  {}: {}\n", r.name, r.desc));
        if verbose {
            let target = r.target.map(|t| t.code()).unwrap_or("");
            out.push_str(&format!(
                "    target type: {target}, allowed by default: {}\n",
                r.default_allow
            ));
        }
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn grantee_words() {
        let a = ace_args(&w("account bob@x.test sendAs")).expect("account");
        assert_eq!(
            (a.gt, a.grantee.as_deref(), a.deny),
            ("usr", Some("bob@x.test"), false)
        );
        let a = ace_args(&w("all -viewFreeBusy")).expect("all");
        assert_eq!(
            (a.gt, a.right.as_str(), a.deny),
            ("all", "viewFreeBusy", true)
        );
        let a = ace_args(&w("guest g@ext.test pw1 invite")).expect("guest");
        assert_eq!((a.gt, a.secret.as_deref()), ("gst", Some("pw1")));
        let a = ace_args(&w("key k@ext.test viewFreeBusy")).expect("key");
        assert_eq!((a.gt, a.secret), ("key", None));
        assert!(ace_args(&w("account bob@x.test")).is_err());
        assert!(ace_args(&w("public a b")).is_err());
        assert!(ace_args(&w("guest g@x.test invite")).is_err());
        assert!(
            ace_args(&w("cos x sendAs"))
                .unwrap_err()
                .contains("unknown grantee")
        );
        assert!(ace_args(&w("all -")).is_err());
        assert!(ace_args(&[]).is_err());
    }

    #[test]
    fn table_sorts_by_right_then_type() {
        let aces = vec![
            json!({"gt": "pub", "right": "viewFreeBusy"}),
            json!({"gt": "usr", "right": "viewFreeBusy", "d": "b@x.test"}),
            json!({"gt": "grp", "right": "sendAs", "d": "list@x.test", "deny": true}),
        ];
        let t = rights_table(&aces);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "           Right      Type  Display");
        assert_eq!(lines[2], "         -sendAs     group  list@x.test");
        assert_eq!(lines[3], "    viewFreeBusy   account  b@x.test");
        assert_eq!(lines[4], "    viewFreeBusy    public  ");
    }

    proptest::proptest! {
        #[test]
        fn grantee_words_never_panic(ws in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(&["account", "group", "domain", "all", "public",
                    "guest", "key", "-", "-sendAs", "sendAs"][..]).prop_map(str::to_string),
                "[ -~]{0,8}",
            ], 0..6)) {
            if let Ok(a) = ace_args(&ws) {
                proptest::prop_assert!(!a.right.is_empty());
                proptest::prop_assert!(a.deny == ws.last().is_some_and(|r| r.starts_with('-')));
            }
        }
    }

    #[test]
    fn catalogue_lists_user_rights_only() {
        let l = list_rights(false);
        assert!(l.contains("  sendAs: "), "{l}");
        assert!(!l.contains("createAccount"), "{l}");
    }
}
