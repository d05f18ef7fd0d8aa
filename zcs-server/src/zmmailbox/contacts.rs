//! `zmmailbox`'s contact commands (`createContact cct`, `deleteContact dct`,
//! `moveContact mct`, `modifyContactAttrs mcta`, `flagContact fct`, `getAllContacts
//! gact`, `getContacts gct`) and folder grants (`getFolderGrant gfg`, `modifyFolderGrant
//! mfg`), each turned into the mail service request Zimbra's tool sends.

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
    session
        .request(
            Some(mailbox),
            "ModifyContactRequest",
            MAIL,
            json!({ "replace": replace, "cn": { "id": id, "a": fields } }),
        )
        .await?;
    Ok(Outcome::Print(String::new()))
}

/// One contact as the tool prints it: its id, folder, flags, then `name: value` per
/// field (sorted; only `only` when given).
// LIMITATION: a readable layout of our own; Zimbra's tool prints its client library's
// ZContact dump, whose exact form is not reproduced.
pub fn contact_text(cn: &Value, only: &[String]) -> String {
    let mut out = format!("Id: {}\nFolder: {}\n", local_id(&cn["id"]), text(&cn["l"]));
    let flags = text(&cn["f"]);
    if !flags.is_empty() {
        out.push_str(&format!("Flags: {flags}\n"));
    }
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
    out
}

fn contacts_text(r: &Value, only: &[String]) -> String {
    list(&r["cn"])
        .iter()
        .map(|c| contact_text(c, only))
        .collect::<Vec<_>>()
        .join("\n")
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
    Ok(Outcome::Print(contacts_text(&r, &p.rest)))
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
    Ok(Outcome::Print(contacts_text(&r, &p.rest[1..])))
}

/// Zimbra's display name of a grantee type.
fn grantee_display(gt: &str) -> &'static str {
    match gt {
        "usr" => "account",
        "grp" => "group",
        "pub" => "public",
        "all" => "all",
        "dom" => "domain",
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

/// `gfg {folder-path}`.
async fn get_grants(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let f = folder(session, mailbox, p.operand(0, "folder path")?).await?;
    Ok(Outcome::Print(grant_table(&f)))
}

/// `mfg {folder-path} {account|group|domain {name}|all|public|guest {email} [pw]}
/// {perms|none}`: grants, or with `none` (or empty) revokes.
async fn modify_grant(session: &Remote, mailbox: &str, args: &[String]) -> Result<Outcome, String> {
    let p = Parsed::new(args, &[])?;
    let path = p.operand(0, "folder path")?;
    let kind = p.operand(1, "grantee type")?.to_ascii_lowercase();
    let (gt, grantee, perms, pw) = match kind.as_str() {
        "account" | "group" | "domain" => {
            let gt = match kind.as_str() {
                "account" => "usr",
                "group" => "grp",
                _ => "dom",
            };
            (
                gt,
                Some(p.operand(2, "grantee")?),
                p.operand(3, "permissions")?,
                None,
            )
        }
        "all" | "public" => {
            let gt = if kind == "all" { "all" } else { "pub" };
            (gt, None, p.operand(2, "permissions")?, None)
        }
        "guest" => match p.rest.len() {
            5 => (
                "guest",
                Some(p.rest[2].as_str()),
                p.rest[4].as_str(),
                Some(&p.rest[3]),
            ),
            _ => (
                "guest",
                Some(p.operand(2, "grantee")?),
                p.operand(3, "permissions")?,
                None,
            ),
        },
        other => return Err(format!("unknown grantee type: {other}")),
    };
    let id = folder_id(session, mailbox, path).await?;
    let revoke = perms.is_empty() || perms.eq_ignore_ascii_case("none");
    let action = if revoke {
        // Revoking names the grantee by id: find it among the folder's grants.
        let f = folder(session, mailbox, path).await?;
        let zid = list(&super::first(&f["acl"])["grant"])
            .into_iter()
            .find(|g| {
                text(&g["gt"]) == gt
                    && grantee.is_none_or(|n| {
                        text(&g["d"]).eq_ignore_ascii_case(n)
                            || text(&g["zid"]).eq_ignore_ascii_case(n)
                    })
            })
            .map(|g| text(&g["zid"]))
            .ok_or_else(|| "no such grant".to_string())?;
        json!({ "op": "!grant", "id": id, "zid": zid })
    } else {
        let mut g = json!({ "gt": gt, "perm": perms });
        if let Some(n) = grantee {
            g["d"] = json!(n);
        }
        if let Some(pw) = pw {
            g["pw"] = json!(pw);
        }
        json!({ "op": "grant", "id": id, "grant": g })
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

    #[test]
    fn contact_dump_sorted_and_filtered() {
        let cn = json!({"id": "u:260", "l": "7", "f": "f",
            "_attrs": {"lastName": "Lee", "email": ["a@x.test", "b@x.test"]}});
        let all = contact_text(&cn, &[]);
        assert_eq!(
            all,
            "Id: 260\nFolder: 7\nFlags: f\nAttrs:\n  email: a@x.test\n  email: b@x.test\n  \
             lastName: Lee\n"
        );
        let some = contact_text(&cn, &["lastname".to_string()]);
        assert!(some.ends_with("Attrs:\n  lastName: Lee\n"), "{some}");
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
    fn attribute_pairs() {
        let w: Vec<String> = ["firstName", "Ann", "email", "a@x.test"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(pairs(&w).expect("pairs").len(), 2);
        assert!(pairs(&w[..3]).is_err());
    }
}
