//! `zmmailbox`'s folder and tag commands (spec/06 §3.1; topics `folder` and `tag`):
//! `getAllFolders gaf`, `getFolder gf`, `getFolderRequest gfr`, `createFolder cf`,
//! `createSearchFolder csf`, `createMountpoint cm`, `deleteFolder df`, `emptyFolder
//! ef`, `renameFolder rf`, `markFolderRead mfr`, `modifyFolderColor mfc`,
//! `modifyFolderChecked mfch`, `modifyFolderExcludeFreeBusy mfefb`, `modifyFolderFlags
//! mff`, `modifyFolderURL mfu`, `syncFolder sf`, `importURLIntoFolder iuif`,
//! `modifyMountpointEnableSharedReminder mmesr`; `createTag ct`, `getAllTags gat`,
//! `deleteTag dt`, `renameTag rt`, `markTagRead mtr`, `modifyTagColor mtc`. Each is
//! the FolderAction/TagAction (or Create*) request Zimbra's client sends; the server
//! decides what it supports and its fault is printed as is.

use serde_json::{Value, json};

use super::{
    Cx, MAIL, Outcome, color_attr, color_name, folder, folder_id, list, local_id, split_path,
    tag_id,
};
use crate::search::remote::{first, text};

/// Runs the command of `cx` when it is a folder or tag command; `None` otherwise.
pub(super) async fn run(cx: &Cx<'_>) -> Option<Result<Outcome, String>> {
    let r = match cx.cmd.name {
        "getAllFolders" => all_folders(cx).await,
        "getFolder" => match cx.arg(0) {
            Ok(p) => folder(cx.session, cx.mailbox, p).await.map(pretty),
            Err(e) => Err(e),
        },
        "getFolderRequest" => get_by_id(cx).await,
        "createFolder" => create_folder(cx).await,
        "createSearchFolder" => create_search_folder(cx).await,
        "createMountpoint" => create_mountpoint(cx).await,
        "deleteFolder" => folder_op(cx, "delete", json!({})).await,
        "emptyFolder" => folder_op(cx, "empty", json!({})).await,
        "markFolderRead" => folder_op(cx, "read", json!({})).await,
        "syncFolder" => folder_op(cx, "sync", json!({})).await,
        "renameFolder" => rename_folder(cx).await,
        "modifyFolderColor" => match cx.arg(1).and_then(color_attr) {
            Ok((k, v)) => folder_op(cx, "color", json!({ k: v })).await,
            Err(e) => Err(e),
        },
        "modifyFolderChecked" => {
            let op = if cx.bool_arg(1, true) {
                "check"
            } else {
                "!check"
            };
            folder_op(cx, op, json!({})).await
        }
        "modifyFolderExcludeFreeBusy" => {
            let v = if cx.bool_arg(1, true) { "1" } else { "0" };
            folder_op(cx, "fb", json!({ "excludeFreeBusy": v })).await
        }
        "modifyFolderFlags" => match cx.arg(1) {
            Ok(f) => folder_op(cx, "update", json!({ "f": f })).await,
            Err(e) => Err(e),
        },
        "modifyFolderURL" => match cx.arg(1) {
            Ok(u) => folder_op(cx, "url", json!({ "url": u })).await,
            Err(e) => Err(e),
        },
        "importURLIntoFolder" => match cx.arg(1) {
            Ok(u) => folder_op(cx, "import", json!({ "url": u })).await,
            Err(e) => Err(e),
        },
        "modifyMountpointEnableSharedReminder" => shared_reminder(cx).await,
        "createTag" => create_tag(cx).await,
        "getAllTags" => all_tags(cx).await,
        "deleteTag" => tag_op(cx, "delete", json!({})).await,
        "markTagRead" => tag_op(cx, "read", json!({})).await,
        "renameTag" => match cx.arg(1) {
            Ok(n) => tag_op(cx, "rename", json!({ "name": n })).await,
            Err(e) => Err(e),
        },
        "modifyTagColor" => match cx.arg(1).and_then(color_attr) {
            Ok((k, v)) => tag_op(cx, "color", json!({ k: v })).await,
            Err(e) => Err(e),
        },
        _ => return None,
    };
    Some(r)
}

fn pretty(v: Value) -> Outcome {
    Outcome::Print(serde_json::to_string_pretty(&v).unwrap_or_default())
}

fn done() -> Outcome {
    Outcome::Print(String::new())
}

/// `FolderActionRequest op=` on the folder named by operand 0, with `extra` attributes.
async fn folder_op(cx: &Cx<'_>, op: &str, extra: Value) -> Result<Outcome, String> {
    let id = folder_id(cx.session, cx.mailbox, cx.arg(0)?).await?;
    let mut action = json!({ "op": op, "id": id });
    if let (Value::Object(a), Value::Object(e)) = (&mut action, extra) {
        a.extend(e);
    }
    cx.call("FolderActionRequest", MAIL, json!({ "action": action }))
        .await?;
    Ok(done())
}

/// `TagActionRequest op=` on the tag named (or numbered) by operand 0.
async fn tag_op(cx: &Cx<'_>, op: &str, extra: Value) -> Result<Outcome, String> {
    let id = tag_id(cx, cx.arg(0)?).await?;
    let mut action = json!({ "op": op, "id": id });
    if let (Value::Object(a), Value::Object(e)) = (&mut action, extra) {
        a.extend(e);
    }
    cx.call("TagActionRequest", MAIL, json!({ "action": action }))
        .await?;
    Ok(done())
}

async fn all_folders(cx: &Cx<'_>) -> Result<Outcome, String> {
    let r = cx.call("GetFolderRequest", MAIL, json!({})).await?;
    if cx.verbose() {
        return Ok(pretty(first(&r["folder"])));
    }
    Ok(Outcome::Print(folder_table(&r)))
}

/// `gfr {folder-id}`: always a GetFolderRequest by id, printed whole.
async fn get_by_id(cx: &Cx<'_>) -> Result<Outcome, String> {
    let r = cx
        .call(
            "GetFolderRequest",
            MAIL,
            json!({ "folder": { "l": cx.arg(0)? } }),
        )
        .await?;
    let mut f = first(&r["folder"]);
    for kind in ["search", "link"] {
        if f.is_null() {
            f = first(&r[kind]);
        }
    }
    Ok(pretty(f))
}

/// The parent id and name of a new folder at operand 0.
async fn placed(cx: &Cx<'_>) -> Result<(String, String), String> {
    let (parent, name) = split_path(cx.arg(0)?)?;
    Ok((folder_id(cx.session, cx.mailbox, &parent).await?, name))
}

async fn create_folder(cx: &Cx<'_>) -> Result<Outcome, String> {
    let (l, name) = placed(cx).await?;
    let mut spec = json!({ "name": name, "l": l });
    if let Some(v) = cx.opt("view") {
        spec["view"] = json!(v);
    }
    if let Some(c) = cx.opt("color") {
        let (k, v) = color_attr(c)?;
        spec[k] = json!(v);
    }
    if let Some(f) = cx.opt("flags") {
        spec["f"] = json!(f);
    }
    let r = cx
        .call("CreateFolderRequest", MAIL, json!({ "folder": spec }))
        .await?;
    Ok(Outcome::Print(local_id(&first(&r["folder"])["id"])))
}

async fn create_search_folder(cx: &Cx<'_>) -> Result<Outcome, String> {
    let query = cx.arg(1)?;
    let (l, name) = placed(cx).await?;
    let mut spec = json!({ "name": name, "l": l, "query": query });
    if let Some(t) = cx.opt("types") {
        spec["types"] = json!(t);
    }
    if let Some(s) = cx.opt("sort") {
        spec["sortBy"] = json!(s);
    }
    if let Some(c) = cx.opt("color") {
        let (k, v) = color_attr(c)?;
        spec[k] = json!(v);
    }
    let r = cx
        .call("CreateSearchFolderRequest", MAIL, json!({ "search": spec }))
        .await?;
    Ok(Outcome::Print(local_id(&first(&r["search"])["id"])))
}

/// Whether `s` has the 8-4-4-4-12 hex shape of a zimbraId.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `cm {folder-path} {owner} {remote-item-id-or-path} [0|1]`: the owner by zimbraId or
/// name, the shared item by `<zimbraId>:<id>` or by path.
async fn create_mountpoint(cx: &Cx<'_>) -> Result<Outcome, String> {
    let owner = cx.arg(1)?;
    let item = cx.arg(2)?;
    let (l, name) = placed(cx).await?;
    let mut spec = json!({ "name": name, "l": l,
        "reminder": if cx.bool_arg(3, false) { "1" } else { "0" } });
    spec[if is_uuid(owner) { "zid" } else { "owner" }] = json!(owner);
    match item.split_once(':') {
        Some((zid, rid)) if is_uuid(zid) && !rid.is_empty() => spec["rid"] = json!(rid),
        _ => spec["path"] = json!(item),
    }
    if let Some(v) = cx.opt("view") {
        spec["view"] = json!(v);
    }
    if let Some(c) = cx.opt("color") {
        let (k, v) = color_attr(c)?;
        spec[k] = json!(v);
    }
    if let Some(f) = cx.opt("flags") {
        spec["f"] = json!(f);
    }
    let r = cx
        .call("CreateMountpointRequest", MAIL, json!({ "link": spec }))
        .await?;
    Ok(Outcome::Print(local_id(&first(&r["link"])["id"])))
}

/// `mmesr {mountpoint-path} {0|1}` (`EnableSharedReminderRequest`).
async fn shared_reminder(cx: &Cx<'_>) -> Result<Outcome, String> {
    cx.arg(1)?;
    let id = folder_id(cx.session, cx.mailbox, cx.arg(0)?).await?;
    let on = if cx.bool_arg(1, false) { "1" } else { "0" };
    cx.call(
        "EnableSharedReminderRequest",
        MAIL,
        json!({ "link": { "id": id, "reminder": on } }),
    )
    .await?;
    Ok(done())
}

/// `rf {folder-path} {new-name-or-path}`: a new path (leading `/`) moves the folder
/// under that path's parent as well.
async fn rename_folder(cx: &Cx<'_>) -> Result<Outcome, String> {
    let to = cx.arg(1)?;
    let id = folder_id(cx.session, cx.mailbox, cx.arg(0)?).await?;
    let mut action = json!({ "op": "rename", "id": id });
    if to.starts_with('/') {
        let (parent, name) = split_path(to)?;
        action["l"] = json!(folder_id(cx.session, cx.mailbox, &parent).await?);
        action["name"] = json!(name);
    } else {
        action["name"] = json!(to);
    }
    cx.call("FolderActionRequest", MAIL, json!({ "action": action }))
        .await?;
    Ok(done())
}

async fn create_tag(cx: &Cx<'_>) -> Result<Outcome, String> {
    let mut spec = json!({ "name": cx.arg(0)? });
    if let Some(c) = cx.opt("color") {
        let (k, v) = color_attr(c)?;
        spec[k] = json!(v);
    }
    let r = cx
        .call("CreateTagRequest", MAIL, json!({ "tag": spec }))
        .await?;
    Ok(Outcome::Print(local_id(&first(&r["tag"])["id"])))
}

async fn all_tags(cx: &Cx<'_>) -> Result<Outcome, String> {
    let r = cx.call("GetTagRequest", MAIL, json!({})).await?;
    if cx.verbose() {
        return Ok(pretty(Value::Array(list(&r["tag"]))));
    }
    Ok(Outcome::Print(tag_table(&r)))
}

/// `gaf`'s table: id, view, unread, message count and path of every folder, depth
/// first; a search folder's path shows its query, a mountpoint's its owner and remote
/// id, a folder with a feed its URL.
pub fn folder_table(resp: &Value) -> String {
    fn walk(f: &Value, kind: &str, parent: &str, rows: &mut Vec<[String; 5]>) {
        let view = text(&f["view"]);
        let view = if view.is_empty() {
            "conv".to_string()
        } else {
            view.chars().take(4).collect()
        };
        // A mountpoint may come without its path: its parent's path and its name.
        let base = match text(&f["absFolderPath"]) {
            p if !p.is_empty() => p,
            _ if text(&f["name"]).is_empty() || parent.is_empty() => "/".to_string(),
            _ => format!("{}/{}", parent.trim_end_matches('/'), text(&f["name"])),
        };
        let mut path = base.clone();
        let url = text(&f["url"]);
        if kind == "search" {
            path = format!("{path} ({})", text(&f["query"]));
        } else if kind == "link" {
            let owner = match text(&f["owner"]) {
                o if o.is_empty() => text(&f["zid"]),
                o => o,
            };
            path = format!("{path} ({owner}:{})", text(&f["rid"]));
        } else if !url.is_empty() {
            path = format!("{path} ({url})");
        }
        rows.push([
            local_id(&f["id"]),
            view,
            text(&f["u"]).parse::<u64>().unwrap_or(0).to_string(),
            text(&f["n"]).parse::<u64>().unwrap_or(0).to_string(),
            path,
        ]);
        for kind in ["folder", "search", "link"] {
            for child in list(&f[kind]) {
                walk(&child, kind, &base, rows);
            }
        }
    }
    let mut rows = Vec::new();
    for f in list(&resp["folder"]) {
        walk(&f, "folder", "", &mut rows);
    }
    let mut out = format!(
        "{:>10}  {:<4}  {:>10}  {:>10}  Path\n{}  {}  {}  {}  {}\n",
        "Id",
        "View",
        "Unread",
        "Msg Count",
        "-".repeat(10),
        "-".repeat(4),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10)
    );
    for [id, view, unread, count, path] in rows {
        out.push_str(&format!(
            "{id:>10}  {view:<4}  {unread:>10}  {count:>10}  {path}\n"
        ));
    }
    out.trim_end().to_string()
}

/// `gat`'s table: id, unread count, color and name of every tag, by name; nothing at
/// all when there is no tag.
pub fn tag_table(resp: &Value) -> String {
    let mut tags = list(&resp["tag"]);
    if tags.is_empty() {
        return String::new();
    }
    tags.sort_by_key(|t| text(&t["name"]));
    let mut out = format!(
        "{:>10}  {:>10}  {:>10}  Name\n{}  {}  {}  {}\n",
        "Id",
        "Unread",
        "Color",
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10)
    );
    for t in tags {
        let unread = text(&t["u"]).parse::<u64>().unwrap_or(0);
        let color: String = color_name(&t).chars().take(10).collect();
        out.push_str(&format!(
            "{:>10}  {unread:>10}  {color:>10}  {}\n",
            local_id(&t["id"]),
            text(&t["name"])
        ));
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_table_lists_the_tree_depth_first() {
        let resp = json!({"folder": [{"id": "1", "absFolderPath": "/", "n": 0, "folder": [
            {"id": "2", "absFolderPath": "/Inbox", "view": "message", "u": 3, "n": 7},
            {"id": "257", "absFolderPath": "/Archive", "view": "message", "n": 0,
             "search": [{"id": "258", "absFolderPath": "/Archive/unread",
                         "query": "is:unread"}],
             "link": [{"id": "259", "name": "Bob", "owner": "bob@x",
                       "rid": "2", "view": "message"}]}]}]});
        let t = folder_table(&resp);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "        Id  View      Unread   Msg Count  Path");
        assert_eq!(lines[2], "         1  conv           0           0  /");
        assert_eq!(lines[3], "         2  mess           3           7  /Inbox");
        assert!(lines[5].ends_with("/Archive/unread (is:unread)"), "{t}");
        assert!(lines[6].ends_with("/Archive/Bob (bob@x:2)"), "{t}");
    }

    #[test]
    fn tag_table_shows_colors_and_nothing_without_tags() {
        assert_eq!(tag_table(&json!({})), "");
        let t = tag_table(
            &json!({"tag": [{"id": "65", "name": "b", "color": "5", "u": 2},
            {"id": "64", "name": "a"}]}),
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "        Id      Unread       Color  Name");
        assert_eq!(lines[2], "        64           0  defaultCol  a");
        assert_eq!(lines[3], "        65           2         red  b");
    }

    #[test]
    fn zimbra_ids_are_recognised() {
        assert!(is_uuid("0f3a1c52-8e0b-4b8e-9d0e-2c8f1b7a6d11"));
        assert!(!is_uuid("bob@example.com"));
        assert!(!is_uuid("0f3a1c52-8e0b-4b8e-9d0e"));
    }
}
