//! `getShareInfo` (gsi) `{owner-name|owner-id}`: the folders an owner shares, one line
//! each in Zimbra's thirteen fixed-width columns (owner id, email and display name,
//! folder id, path, default view, item type, rights, mountpoint id, grantee type, id,
//! name and display name; a missing value prints `null`, as Zimbra's Java formatting
//! does).
//!
//! Where the answer comes from:
//! - with the running server (no `-l`): its admin `GetShareInfoRequest` for the owner,
//!   when the server serves one;
//! - otherwise (`-l`, no server, or a server without that request): the share
//!   information published in the directory, the owner's `zimbraSharedItem` values
//!   (`granteeId:...;granteeName:...;granteeType:...;folderId:...;folderUuid:...;
//!   folderPath:...;folderDefaultView:...;rights:...;type:...[;expiry:...]`, a `;` in
//!   the path written `*ASCII59*`), which a directory migrated from Zimbra carries.
//!   Expired shares are left out. Zimbra's own `zmprov -l gsi` refuses ("can only be
//!   used with SOAP"); answering from the directory is zcs's.

use zcs_core::{Entry, FaultCode};
use zcs_directory::Provisioning;

use super::autoprov::call_server;
use super::commands::CmdError;

/// Java's `%-W.Ws` widths of the thirteen columns.
const WIDTHS: [usize; 13] = [36, 15, 15, 5, 20, 10, 10, 10, 5, 5, 36, 15, 15];

/// The marker Zimbra writes for `;` inside a published folder path.
const SEMICOLON: &str = "*ASCII59*";

/// One share, as a line of the listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ShareRow {
    pub owner_id: Option<String>,
    pub owner_email: Option<String>,
    pub owner_display: Option<String>,
    pub item_id: Option<String>,
    pub path: Option<String>,
    pub view: Option<String>,
    pub item_type: Option<String>,
    pub rights: Option<String>,
    pub mid: Option<String>,
    pub grantee_type: Option<String>,
    pub grantee_id: Option<String>,
    pub grantee_name: Option<String>,
    pub grantee_display: Option<String>,
}

/// One line in the fixed-width columns.
fn line(cols: [Option<&str>; 13]) -> String {
    let mut out = String::new();
    for (i, (c, w)) in cols.iter().zip(WIDTHS).enumerate() {
        let text: String = c.unwrap_or("null").chars().take(w).collect();
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{text:<w$}"));
    }
    out.push('\n');
    out
}

/// The heading and rule lines, then one line per share.
pub(super) fn table(rows: &[ShareRow]) -> String {
    let mut out = line([
        Some("owner id"),
        Some("owner email"),
        Some("owner display"),
        Some("id"),
        Some("path"),
        Some("view"),
        Some("type"),
        Some("rights"),
        Some("mid"),
        Some("gt"),
        Some("grantee id"),
        Some("grantee name"),
        Some("grantee display"),
    ]);
    let rules: Vec<String> = WIDTHS.iter().map(|w| "-".repeat(*w)).collect();
    let mut cols = [None; 13];
    for (c, r) in cols.iter_mut().zip(&rules) {
        *c = Some(r.as_str());
    }
    out.push_str(&line(cols));
    for r in rows {
        out.push_str(&line([
            r.owner_id.as_deref(),
            r.owner_email.as_deref(),
            r.owner_display.as_deref(),
            r.item_id.as_deref(),
            r.path.as_deref(),
            r.view.as_deref(),
            r.item_type.as_deref(),
            r.rights.as_deref(),
            r.mid.as_deref(),
            r.grantee_type.as_deref(),
            r.grantee_id.as_deref(),
            r.grantee_name.as_deref(),
            r.grantee_display.as_deref(),
        ]));
    }
    out
}

/// Parses one `zimbraSharedItem` value; `None` when it names no folder id or has
/// expired before `now_ms`. A part without `:` continues the previous value (a `;`
/// that was not escaped).
pub(super) fn parse_shared_item(value: &str, now_ms: i64) -> Option<ShareRow> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for part in value.split(';') {
        match part.split_once(':') {
            Some((k, v)) => fields.push((k.to_string(), v.to_string())),
            None => {
                if let Some((_, v)) = fields.last_mut() {
                    v.push(';');
                    v.push_str(part);
                }
            }
        }
    }
    let get = |k: &str| {
        fields
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| v != "null")
    };
    let id: i64 = get("folderId")?.trim().parse().ok()?;
    if let Some(exp) = get("expiry").and_then(|e| e.trim().parse::<i64>().ok())
        && exp != 0
        && exp < now_ms
    {
        return None;
    }
    Some(ShareRow {
        item_id: Some(id.to_string()),
        path: get("folderPath").map(|p| p.replace(SEMICOLON, ";")),
        view: get("folderDefaultView").map(|v| v.to_ascii_lowercase()),
        item_type: Some(
            get("type")
                .unwrap_or_else(|| "folder".into())
                .to_ascii_uppercase(),
        ),
        rights: get("rights"),
        grantee_type: get("granteeType"),
        grantee_id: get("granteeId"),
        grantee_name: get("granteeName"),
        ..ShareRow::default()
    })
}

/// The shares published in the directory on `owner` (its `zimbraSharedItem`).
async fn from_directory(p: &Provisioning, owner: &Entry) -> Vec<ShareRow> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut rows = Vec::new();
    for v in owner.attrs.get_all("zimbraSharedItem") {
        let Some(mut r) = parse_shared_item(v, now) else {
            tracing::debug!(owner = %owner.name, "unreadable or expired zimbraSharedItem skipped");
            continue;
        };
        r.owner_id = Some(owner.id.to_string());
        r.owner_email = Some(owner.name.clone());
        r.owner_display = owner.attrs.get("displayName").map(str::to_string);
        let grantee = match (r.grantee_type.as_deref(), r.grantee_id.as_deref()) {
            (Some("usr"), Some(id)) => p.find_account(id).await.ok().flatten(),
            (Some("grp"), Some(id)) => p.find_group(id).await.ok().flatten(),
            _ => None,
        };
        if let Some(g) = grantee {
            r.grantee_display = g.attrs.get("displayName").map(str::to_string);
        }
        rows.push(r);
    }
    rows
}

/// The shares of a `GetShareInfoResponse` (JSON), in the order given.
pub(super) fn from_response(r: &serde_json::Value) -> Vec<ShareRow> {
    let shares = match r.get("share") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(one @ serde_json::Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let s = |v: &serde_json::Value, k: &str| match v.get(k) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    shares
        .iter()
        .map(|v| ShareRow {
            owner_id: s(v, "ownerId"),
            owner_email: s(v, "ownerEmail"),
            owner_display: s(v, "ownerName"),
            item_id: s(v, "folderId"),
            path: s(v, "folderPath"),
            view: s(v, "view"),
            item_type: Some("FOLDER".into()),
            rights: s(v, "rights"),
            mid: s(v, "mid"),
            grantee_type: s(v, "granteeType"),
            grantee_id: s(v, "granteeId"),
            grantee_name: s(v, "granteeName"),
            grantee_display: s(v, "granteeDispName"),
        })
        .collect()
}

/// `gsi {owner-name|owner-id}`.
pub(super) async fn get_share_info(p: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let [owner] = a else {
        return Err(CmdError::Usage);
    };
    let owner = p.get_account(owner).await?;
    if !super::direct_mode() {
        let body = serde_json::json!({
            "_jsns": "urn:zimbraAdmin",
            "owner": { "by": "id", "_content": owner.id.to_string() },
        });
        match call_server(p, "getShareInfo", "GetShareInfoRequest", body).await {
            Ok(r) => return Ok(table(&from_response(&r))),
            // No server, or one that does not serve the admin request: the directory.
            Err(CmdError::Fault(e))
                if e.code == FaultCode::InvalidRequest || e.code == FaultCode::UnknownDocument => {}
            Err(e) => return Err(e),
        }
    }
    Ok(table(&from_directory(p, &owner).await))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = "granteeId:0b1c;granteeName:bob@ex.test;granteeType:usr;folderId:257;\
                        folderUuid:u-1;folderPath:/Cal*ASCII59*endar;folderDefaultView:appointment;\
                        rights:r;type:folder";

    #[test]
    fn published_items_parse_as_zimbra_writes_them() {
        let r = parse_shared_item(ITEM, 0).expect("parses");
        assert_eq!(r.item_id.as_deref(), Some("257"));
        assert_eq!(r.path.as_deref(), Some("/Cal;endar"));
        assert_eq!(r.view.as_deref(), Some("appointment"));
        assert_eq!(r.item_type.as_deref(), Some("FOLDER"));
        assert_eq!(r.grantee_type.as_deref(), Some("usr"));
        assert_eq!(r.grantee_name.as_deref(), Some("bob@ex.test"));
        // An unescaped `;` continues the previous value.
        let r = parse_shared_item("folderId:3;folderPath:/a;b;rights:rw", 0).expect("parses");
        assert_eq!(r.path.as_deref(), Some("/a;b"));
        // `null` is no value; no folder id is no share; an expired share is gone.
        let r = parse_shared_item("folderId:3;granteeName:null", 0).expect("parses");
        assert_eq!(r.grantee_name, None);
        assert!(parse_shared_item("folderPath:/x", 0).is_none());
        assert!(parse_shared_item("folderId:3;expiry:1000", 2000).is_none());
        assert!(parse_shared_item("folderId:3;expiry:3000", 2000).is_some());
    }

    #[test]
    fn table_uses_zimbras_columns() {
        let r = parse_shared_item(ITEM, 0).expect("parses");
        let t = table(&[r]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(&format!("{:<36} {:<15} ", "owner id", "owner email")));
        assert!(lines[1].starts_with(&format!("{} ", "-".repeat(36))));
        // Missing values print `null`; long ones are cut to the column.
        assert!(
            lines[2].starts_with(&format!("{:<36} ", "null")),
            "{}",
            lines[2]
        );
        assert!(lines[2].contains(" 257   /Cal;endar "), "{}", lines[2]);
        let long = ShareRow {
            path: Some("x".repeat(40)),
            ..ShareRow::default()
        };
        assert!(table(&[long]).contains(&format!(" {} ", "x".repeat(20))));
    }

    #[test]
    fn responses_read_as_rows() {
        let r = serde_json::json!({"share": [{"ownerId": "o", "folderId": 257,
            "granteeType": "grp", "rights": "rw"}]});
        let rows = from_response(&r);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].item_id.as_deref(), Some("257"));
        assert_eq!(rows[0].grantee_type.as_deref(), Some("grp"));
        assert!(from_response(&serde_json::json!({})).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(v in ".{0,120}", now in proptest::num::i64::ANY) {
            let _ = parse_shared_item(&v, now);
        }
    }
}
