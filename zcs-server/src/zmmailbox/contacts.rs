//! `zmmailbox`'s contact commands (`createContact cct`, `deleteContact dct`,
//! `moveContact mct`, `modifyContactAttrs mcta`, `flagContact fct`, `tagContact tct`,
//! `getAllContacts gact`, `getContacts gct`, and `autoComplete ac` / `autoCompleteGal
//! acg`, which `admin` routes here) and folder grants (`getFolderGrant gfg`,
//! `modifyFolderGrant mfg`), each turned into the mail service request Zimbra's tool
//! sends.

use serde_json::{Value, json};

use super::{MAIL, Outcome, Parsed, folder, folder_id, list, local_id};
use crate::search::remote::{Remote, text};

/// Runs `cmd` when it is one of this module's commands; `None` otherwise.
pub(super) async fn run(
    session: &Remote,
    mailbox: &str,
    cmd: &str,
    args: &[String],
) -> Option<Result<Outcome, String>> {
    let result = match cmd {
        "createContact" | "cct" => create(session, mailbox, args).await,
        "deleteContact" | "dct" => {
            let p = match Parsed::new(args, &[]) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            match p.operand(0, "contact ids") {
                Ok(ids) => action(session, mailbox, json!({ "op": "delete", "id": ids })).await,
                Err(e) => Err(e),
            }
        }
        "moveContact" | "mct" => move_contacts(session, mailbox, args).await,
        "flagContact" | "fct" => flag(session, mailbox, args).await,
        "tagContact" | "tct" => tag(session, mailbox, args).await,
        "modifyContactAttrs" | "mcta" => modify(session, mailbox, args).await,
        "getAllContacts" | "gact" => get_all(session, mailbox, args).await,
        "getContacts" | "gct" => get_some(session, mailbox, args).await,
        "getFolderGrant" | "gfg" => get_grants(session, mailbox, args).await,
        "modifyFolderGrant" | "mfg" => modify_grant(session, mailbox, args).await,
        _ => return None,
    };
    Some(result)
}

/// `attr value` pairs as contact fields (`a n= _content`).
fn pairs(words: &[String]) -> Result<Vec<Value>, String> {
    if !words.len().is_multiple_of(2) {
        return Err("attributes come as name/value pairs".into());
    }
    Ok(words
        .chunks(2)
        .map(|p| json!({ "n": p[0], "_content": p[1] }))
        .collect())
}

async fn action(session: &Remote, mailbox: &str, action: Value) -> Result<Outcome, String> {
    session
        .request(
            Some(mailbox),
            "ContactActionRequest",
            MAIL,
            json!({ "action": action }),
        )
        .await?;
    Ok(Outcome::Print(String::new()))
}

/// `cct [-f folder] [-T tags] [-i] attr value ...`: prints the new contact's id.
async fn create(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &["-f", "--folder", "-T", "--tags"])?;
    let fields = pairs(&p.rest)?;
    if fields.is_empty() {
        return Err("missing contact attributes".into());
    }
    let mut cn = json!({ "a": fields });
    if let Some(f) = p.opt(&["-f", "--folder"]) {
        cn["l"] = json!(folder_id(session, mailbox, f).await?);
    }
    if let Some(t) = p.opt(&["-T", "--tags"]) {
        cn["tn"] = json!(t);
    }
    let r = session
        .request(
            Some(mailbox),
            "CreateContactRequest",
            MAIL,
            json!({ "cn": cn }),
        )
        .await?;
    Ok(Outcome::Print(local_id(&super::first(&r["cn"])["id"])))
}

/// `mct {contact-ids} {dest-folder-path}`.
async fn move_contacts(
    session: &Remote,
    mailbox: &str,
    args: &[String],
) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let dest = folder_id(session, mailbox, p.operand(1, "folder path")?).await?;
    let ids = p.operand(0, "contact ids")?;
    action(
        session,
        mailbox,
        json!({ "op": "move", "id": ids, "l": dest }),
    )
    .await
}

/// `fct {contact-ids} [0|1]`.
async fn flag(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let op = match p.rest.get(1).map(String::as_str) {
        None | Some("1") => "flag",
        Some("0") => "!flag",
        Some(other) => return Err(format!("expected 0 or 1, not {other}")),
    };
    let ids = p.operand(0, "contact ids")?;
    action(session, mailbox, json!({ "op": op, "id": ids })).await
}

/// The id of the tag named (or numbered) `name_or_id`, as Zimbra's tool looks it up.
async fn tag_id(session: &Remote, mailbox: &str, name_or_id: &str) -> Result<String, String> {
    let r = session
        .request(Some(mailbox), "GetTagRequest", MAIL, json!({}))
        .await?;
    list(&r["tag"])
        .into_iter()
        .find(|t| {
            text(&t["name"]).eq_ignore_ascii_case(name_or_id) || local_id(&t["id"]) == name_or_id
        })
        .map(|t| local_id(&t["id"]))
        .ok_or_else(|| format!("zclient.CLIENT_ERROR: unknown tag: {name_or_id}"))
}

/// `tct {contact-ids} {tag-name} [0|1]`: tags (or with `0` untags) the contacts.
async fn tag(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let ids = p.operand(0, "contact ids")?;
    let tag = tag_id(session, mailbox, p.operand(1, "tag name")?).await?;
    // Zimbra's [0|1*]: only 1 (or nothing) tags.
    let op = match p.rest.get(2).map(String::as_str) {
        None | Some("1") => "tag",
        Some(_) => "!tag",
    };
    action(session, mailbox, json!({ "op": op, "id": ids, "tag": tag })).await
}

/// `ac {query}`: the account's address book matches (`AutoCompleteRequest`), one line
/// each with ranking, type and address (`-v` adds id, folder and display name).
pub(super) async fn auto_complete(
    session: &Remote,
    mailbox: &str,
    args: &[String],
) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let query = p.operand(0, "query")?;
    let r = session
        .request(
            Some(mailbox),
            "AutoCompleteRequest",
            MAIL,
            json!({ "name": query, "limit": 20 }),
        )
        .await?;
    Ok(Outcome::Print(matches_table(
        &list(&r["match"]),
        p.flag(&["-v", "--verbose"]),
    )))
}

/// `ac`'s table, in Zimbra's columns (`no matches` when there is none).
pub fn matches_table(matches: &[Value], verbose: bool) -> String {
    if matches.is_empty() {
        return "no matches".into();
    }
    let width = |key: &str, min: usize| {
        matches
            .iter()
            .map(|m| text(&m[key]).chars().count())
            .fold(min, usize::max)
    };
    let (id_w, fid_w, disp_w) = (width("id", 2), width("l", 3), width("display", 7));
    let row = |ranking: &str, kind: &str, id: &str, fid: &str, disp: &str, email: &str| {
        let mut line = format!("{ranking:>7} {kind:>7}");
        if verbose {
            let cut = |s: &str, w: usize| s.chars().take(w).collect::<String>();
            line.push_str(&format!(
                " {:>id_w$} {:>fid_w$} {:>disp_w$}",
                cut(id, id_w),
                cut(fid, fid_w),
                cut(disp, disp_w)
            ));
        }
        format!("{line} {email} \n")
    };
    let mut out = row("Ranking", "type", "id", "fid", "display", "email");
    out.push_str(&"-".repeat(67));
    out.push('\n');
    for m in matches {
        out.push_str(&row(
            &text(&m["ranking"]),
            &text(&m["type"]),
            &text(&m["id"]),
            &text(&m["l"]),
            &text(&m["display"]),
            &text(&m["email"]),
        ));
    }
    out.trim_end_matches('\n').to_string()
}

/// `acg {query}`: GAL accounts whose names start with `query` (`AutoCompleteGalRequest`),
/// printed as contacts.
pub(super) async fn auto_complete_gal(
    session: &Remote,
    mailbox: &str,
    args: &[String],
) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let query = p.operand(0, "query")?;
    let r = session
        .request(
            Some(mailbox),
            "AutoCompleteGalRequest",
            super::ACCOUNT,
            json!({ "name": query, "type": "account", "limit": 20 }),
        )
        .await?;
    let verbose = p.flag(&["-v", "--verbose"]);
    let out = contacts_text(session, mailbox, &r, &[], verbose).await?;
    Ok(Outcome::Print(out))
}

/// `mcta [-r] {contact-id} attr value ...`: `-r` replaces every field.
async fn modify(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let id = p.operand(0, "contact id")?;
    let fields = pairs(&p.rest[1..])?;
    let replace = if p.flag(&["-r", "--replace"]) {
        "1"
    } else {
        "0"
    };
    let r = session
        .request(
            Some(mailbox),
            "ModifyContactRequest",
            MAIL,
            json!({ "replace": replace, "cn": { "id": id, "a": fields } }),
        )
        .await?;
    // Zimbra's tool prints the contact's id.
    Ok(Outcome::Print(local_id(&super::first(&r["cn"])["id"])))
}

/// A contact's flags by name, as Zimbra's tool lists them (`f` is `flagged`, ...).
fn flag_names(flags: &str) -> String {
    flags
        .chars()
        .map(|c| match c {
            'f' => "flagged".to_string(),
            'a' => "attachment".to_string(),
            'u' => "unread".to_string(),
            '!' => "high_priority".to_string(),
            '?' => "low_priority".to_string(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One contact as Zimbra's tool prints it: `Id`, `Folder` (its path when `path` knows
/// it), `Date` (last change, local `MM/dd/yy HH:mm`, when the server sent one), `Tags`
/// and `Flags` when it has some, `Revision`, then `Attrs:` with one `  name: value`
/// line per field (sorted; only the fields in `only` when given) and a group's members.
/// Contacts printed together are separated by an empty line.
pub fn contact_text(cn: &Value, path: &dyn Fn(&str) -> Option<String>, only: &[String]) -> String {
    let folder = text(&cn["l"]);
    let mut out = format!(
        "Id: {}\nFolder: {}\n",
        local_id(&cn["id"]),
        path(&local_id(&cn["l"])).unwrap_or(folder)
    );
    // `md` is the metadata change date in seconds, `d` the item date in milliseconds;
    // with neither (this server sends neither for contacts) there is no Date line.
    let ms = match (
        text(&cn["md"]).parse::<i64>(),
        text(&cn["d"]).parse::<i64>(),
    ) {
        (Ok(secs), _) => Some(secs.saturating_mul(1000)),
        (_, Ok(ms)) => Some(ms),
        _ => None,
    };
    if let Some(d) = ms.and_then(chrono::DateTime::from_timestamp_millis) {
        let local = d.with_timezone(&chrono::Local);
        out.push_str(&format!("Date: {}\n", local.format("%m/%d/%y %H:%M")));
    }
    let tags = text(&cn["tn"]);
    if !tags.is_empty() {
        out.push_str(&format!("Tags: {tags}\n"));
    }
    let flags = text(&cn["f"]);
    if !flags.is_empty() {
        out.push_str(&format!("Flags: {}\n", flag_names(&flags)));
    }
    out.push_str(&format!("Revision: {}\n", text(&cn["rev"])));
    let mut fields: Vec<(String, String)> = match &cn["_attrs"] {
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| match v {
                Value::Array(vs) => vs.iter().map(|v| (k.clone(), text(v))).collect(),
                v => vec![(k.clone(), text(v))],
            })
            .collect(),
        _ => list(&cn["a"])
            .iter()
            .map(|a| (text(&a["n"]), text(&a["_content"])))
            .collect(),
    };
    fields.retain(|(k, _)| only.is_empty() || only.iter().any(|o| o.eq_ignore_ascii_case(k)));
    fields.sort();
    out.push_str("Attrs:\n");
    for (k, v) in fields {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    let members: Vec<String> = list(&cn["m"]).iter().map(|m| text(&m["value"])).collect();
    if !members.is_empty() {
        out.push_str(&format!("GroupMembers: [{}]\n", members.join(", ")));
    }
    out
}

/// The paths of the mailbox's folders, by id (one `GetFolderRequest`).
async fn folder_paths(
    session: &Remote,
    mailbox: &str,
) -> Result<std::collections::HashMap<String, String>, String> {
    fn walk(f: &Value, out: &mut std::collections::HashMap<String, String>) {
        out.insert(local_id(&f["id"]), text(&f["absFolderPath"]));
        for kind in ["folder", "link", "search"] {
            for c in list(&f[kind]) {
                walk(&c, out);
            }
        }
    }
    let r = session
        .request(Some(mailbox), "GetFolderRequest", MAIL, json!({}))
        .await?;
    let mut out = std::collections::HashMap::new();
    for f in list(&r["folder"]) {
        walk(&f, &mut out);
    }
    Ok(out)
}

/// The contacts of a GetContacts or AutoCompleteGal response, as `gact` prints them
/// (`-v`: a JSON list of the contacts as the server sent them).
async fn contacts_text(
    session: &Remote,
    mailbox: &str,
    r: &Value,
    only: &[String],
    verbose: bool,
) -> Result<String, String> {
    let contacts = list(&r["cn"]);
    if verbose {
        return Ok(serde_json::to_string_pretty(&contacts).unwrap_or_default());
    }
    if contacts.is_empty() {
        return Ok(String::new());
    }
    let paths = if contacts.iter().any(|c| !text(&c["l"]).is_empty()) {
        folder_paths(session, mailbox).await?
    } else {
        Default::default()
    };
    let path = |id: &str| paths.get(id).cloned();
    Ok(contacts
        .iter()
        .map(|c| contact_text(c, &path, only))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// `gact [-f folder] [attr ...]`.
async fn get_all(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &["-f", "--folder"])?;
    let mut body = json!({});
    if let Some(f) = p.opt(&["-f", "--folder"]) {
        body["l"] = json!(folder_id(session, mailbox, f).await?);
    }
    let r = session
        .request(Some(mailbox), "GetContactsRequest", MAIL, body)
        .await?;
    let verbose = p.flag(&["-v", "--verbose"]);
    let out = contacts_text(session, mailbox, &r, &p.rest, verbose).await?;
    Ok(Outcome::Print(out))
}

/// `gct {contact-ids} [attr ...]`.
async fn get_some(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let ids = p.operand(0, "contact ids")?;
    let r = session
        .request(
            Some(mailbox),
            "GetContactsRequest",
            MAIL,
            json!({ "cn": { "id": ids } }),
        )
        .await?;
    let verbose = p.flag(&["-v", "--verbose"]);
    let out = contacts_text(session, mailbox, &r, &p.rest[1..], verbose).await?;
    Ok(Outcome::Print(out))
}

/// Zimbra's display name of a grantee type.
fn grantee_display(gt: &str) -> &'static str {
    match gt {
        "usr" => "account",
        "grp" => "group",
        "pub" => "public",
        "all" => "all",
        "dom" => "domain",
        "cos" => "cos",
        "guest" => "guest",
        "key" => "key",
        _ => "unknown",
    }
}

/// `gfg`'s table: permissions, grantee type and who, one grant a line.
pub fn grant_table(folder: &Value) -> String {
    let row = |a: &str, b: &str, c: &str| {
        let a: String = a.chars().take(11).collect();
        let b: String = b.chars().take(8).collect();
        format!("{a:>11}  {b:>8}  {c}\n")
    };
    let mut out = row("Permissions", "Type", "Display");
    out.push_str(&row("-----------", "--------", "-------"));
    let grants = list(&super::first(&folder["acl"])["grant"]);
    for g in grants {
        let gt = text(&g["gt"]);
        let who = match gt.as_str() {
            "all" | "pub" => String::new(),
            _ => {
                let d = text(&g["d"]);
                if d.is_empty() { text(&g["zid"]) } else { d }
            }
        };
        out.push_str(&row(&text(&g["perm"]), grantee_display(&gt), &who));
    }
    out
}

/// `gfg [-v] {folder-path}` (`-v`: the grants as JSON).
async fn get_grants(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let f = folder(session, mailbox, p.operand(0, "folder path")?).await?;
    if p.flag(&["-v", "--verbose"]) {
        let grants = list(&super::first(&f["acl"])["grant"]);
        return Ok(Outcome::Print(
            serde_json::to_string_pretty(&grants).unwrap_or_default(),
        ));
    }
    Ok(Outcome::Print(grant_table(&f)))
}

/// The pseudo-ids Zimbra gives `public` and `all` grantees.
const GUID_PUBLIC: &str = "99999999-9999-9999-9999-999999999999";
const GUID_ALL: &str = "00000000-0000-0000-0000-000000000000";

/// `mfg`'s grantee words: (type code, grantee, secret, permissions).
type GrantArgs<'a> = (&'static str, Option<&'a str>, Option<&'a str>, &'a str);

/// Reads `{account|group|cos|domain {name}|all|public|guest {email} [{password}]|key
/// {email} [{accesskey}]} {permissions|none}` (the words after the folder path).
///
/// # Errors
/// An unknown grantee type or too few words for it.
pub fn grant_args(words: &[String]) -> Result<GrantArgs<'_>, String> {
    let w = |i: usize| words.get(i).map(String::as_str);
    let few = || "not enough args".to_string();
    let kind = w(0).ok_or("missing grantee type")?.to_ascii_lowercase();
    Ok(match kind.as_str() {
        "account" | "group" | "cos" | "domain" => {
            if words.len() != 3 {
                return Err(few());
            }
            let gt = match kind.as_str() {
                "account" => "usr",
                "group" => "grp",
                "cos" => "cos",
                _ => "dom",
            };
            (gt, w(1), None, &words[2])
        }
        "all" | "public" => {
            let gt = if kind == "all" { "all" } else { "pub" };
            (gt, None, None, w(1).ok_or_else(few)?)
        }
        "guest" | "key" => {
            let gt = if kind == "guest" { "guest" } else { "key" };
            match words.len() {
                3 => (gt, w(1), None, &words[2]),
                4 => (gt, w(1), w(2), &words[3]),
                _ => return Err(few()),
            }
        }
        other => return Err(format!("unknown grantee type: {other}")),
    })
}

/// `mfg {folder-path} {grantee...} {permissions|none}`: grants, or with `none` (or an
/// empty value) revokes the grantee's grant. As in Zimbra's tool, revoking from someone
/// the folder has no grant for grants them no rights instead (so a subfolder can hold
/// back what its parent gives).
async fn modify_grant(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let path = p.operand(0, "folder path")?;
    let (gt, grantee, secret, perms) = grant_args(&p.rest[1..])?;
    let f = folder(session, mailbox, path).await?;
    let id = local_id(&f["id"]);
    let revoke = perms.is_empty() || perms.eq_ignore_ascii_case("none");
    let grant = |perm: &str| {
        let mut g = json!({ "gt": gt, "perm": perm });
        match (gt, grantee) {
            ("pub", _) => g["zid"] = json!(GUID_PUBLIC),
            ("all", _) => g["zid"] = json!(GUID_ALL),
            (_, Some(n)) => g["d"] = json!(n),
            _ => {}
        }
        if let Some(s) = secret {
            g[if gt == "key" { "key" } else { "pw" }] = json!(s);
        }
        json!({ "op": "grant", "id": id, "grant": g })
    };
    let action = if revoke {
        // Revoking names the grantee by id: find it among the folder's grants.
        let zid = list(&super::first(&f["acl"])["grant"])
            .into_iter()
            .find(|g| {
                text(&g["gt"]) == gt
                    && grantee.is_none_or(|n| {
                        text(&g["d"]).eq_ignore_ascii_case(n)
                            || text(&g["zid"]).eq_ignore_ascii_case(n)
                    })
            })
            .map(|g| text(&g["zid"]));
        match (zid, gt) {
            (Some(zid), _) => json!({ "op": "!grant", "id": id, "zid": zid }),
            (None, "pub") => json!({ "op": "!grant", "id": id, "zid": GUID_PUBLIC }),
            (None, "all") => json!({ "op": "!grant", "id": id, "zid": GUID_ALL }),
            (None, _) => grant(""),
        }
    } else {
        grant(perms)
    };
    session
        .request(
            Some(mailbox),
            "FolderActionRequest",
            MAIL,
            json!({ "action": action }),
        )
        .await?;
    Ok(Outcome::Print(String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn contact_dump_sorted_and_filtered() {
        let cn = json!({"id": "u:260", "l": "7", "f": "f", "rev": 12, "tn": "vip",
            "_attrs": {"lastName": "Lee", "email": ["a@x.test", "b@x.test"]}});
        let path = |id: &str| (id == "7").then(|| "/Contacts".to_string());
        let all = contact_text(&cn, &path, &[]);
        assert!(
            all.starts_with("Id: 260\nFolder: /Contacts\nTags: "),
            "{all}"
        );
        let dated = contact_text(&json!({"id": "1", "md": 1_700_000_000}), &path, &[]);
        assert!(dated.contains("\nDate: 11/1"), "{dated}");
        assert!(
            all.ends_with(
                "Tags: vip\nFlags: flagged\nRevision: 12\nAttrs:\n  email: a@x.test\n  \
                 email: b@x.test\n  lastName: Lee\n"
            ),
            "{all}"
        );
        let some = contact_text(&cn, &|_: &str| None, &["lastname".to_string()]);
        assert!(some.starts_with("Id: 260\nFolder: 7\n"), "{some}");
        assert!(some.ends_with("Attrs:\n  lastName: Lee\n"), "{some}");
    }

    #[test]
    fn auto_complete_table_in_zimbras_columns() {
        assert_eq!(matches_table(&[], false), "no matches");
        let m = vec![
            json!({"ranking": "3", "type": "contact", "id": "260", "l": "7",
            "display": "Ann Lee", "email": "\"Ann Lee\" <ann@x.test>"}),
        ];
        let t = matches_table(&m, false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Ranking    type email ");
        assert_eq!(lines[1], "-".repeat(67));
        assert_eq!(lines[2], "      3 contact \"Ann Lee\" <ann@x.test> ");
        let v = matches_table(&m, true);
        assert!(
            v.lines()
                .nth(2)
                .is_some_and(|l| l.contains(" 260   7 Ann Lee ")),
            "{v}"
        );
    }

    #[test]
    fn grant_table_layout() {
        let f = json!({"acl": {"grant": [
            {"gt": "usr", "perm": "rwidx", "d": "bob@x.test", "zid": "z1"},
            {"gt": "pub", "perm": "r", "zid": "99999999-9999-9999-9999-999999999999"}]}});
        let t = grant_table(&f);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "Permissions      Type  Display");
        assert_eq!(lines[2], "      rwidx   account  bob@x.test");
        assert_eq!(lines[3], "          r    public  ");
    }

    #[test]
    fn folder_grantee_words() {
        let w = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            grant_args(&w("account b@x.test rwi")).expect("account"),
            ("usr", Some("b@x.test"), None, "rwi")
        );
        assert_eq!(grant_args(&w("cos gold r")).expect("cos").0, "cos");
        assert_eq!(
            grant_args(&w("public r")).expect("public"),
            ("pub", None, None, "r")
        );
        assert_eq!(
            grant_args(&w("guest g@ext.test secret r")).expect("guest"),
            ("guest", Some("g@ext.test"), Some("secret"), "r")
        );
        assert_eq!(
            grant_args(&w("key k@ext.test none")).expect("key"),
            ("key", Some("k@ext.test"), None, "none")
        );
        assert!(grant_args(&w("account b@x.test")).is_err());
        assert!(grant_args(&w("all")).is_err());
        assert!(grant_args(&w("robot r")).is_err());
        assert!(grant_args(&[]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn folder_grantee_words_never_panic(ws in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(&["account", "group", "cos", "domain", "all",
                    "public", "guest", "key", "none", "r"][..]).prop_map(str::to_string),
                "[ -~]{0,8}",
            ], 0..6)) {
            if let Ok((gt, grantee, _, _)) = grant_args(&ws) {
                proptest::prop_assert_eq!(grantee.is_none(), gt == "all" || gt == "pub");
            }
        }
    }

    #[test]
    fn attribute_pairs() {
        let w: Vec<String> = ["firstName", "Ann", "email", "a@x.test"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(pairs(&w).expect("pairs").len(), 2);
        assert!(pairs(&w[..3]).is_err());
    }
}
