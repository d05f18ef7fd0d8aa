//! `zmprov`'s mailbox commands (spec/06 §2.11): `getMailboxInfo gmi`,
//! `getQuotaUsage gqu`, `reIndexMailbox rim`, `recalculateMailboxCounts rmc` and
//! `verifyIndex vi`. The store and the index belong to the running server, so each
//! command is one admin request to the server of this home (`crate::admin_client`),
//! as Zimbra's zmprov sends them to the account's mailbox server; without a running
//! server they fail with a message that says so.

use serde_json::{Value, json};
use zcs_core::{ServiceError, ZimbraId};
use zcs_directory::Provisioning;

use super::commands::CmdError;
use crate::home::Home;
use crate::search::remote::{first, text};

/// Sends `name` with `body` to the running server; its response element.
async fn call(prov: &Provisioning, name: &str, body: Value) -> Result<Value, CmdError> {
    let home = Home::from_env().map_err(|e| ServiceError::failure(format!("zcs home: {e}")))?;
    match crate::admin_client::call_running_server(&home, prov, name, body).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(ServiceError::failure(
            "the mailbox server is not running (zmcontrol start): mailbox commands need it",
        )
        .into()),
        Err(e) => Err(ServiceError::failure(e).into()),
    }
}

/// The account id of `key` (name, alias or id), checked in the directory first so an
/// unknown account answers `account.NO_SUCH_ACCOUNT` as Zimbra's does.
async fn account_id(prov: &Provisioning, key: &str) -> Result<ZimbraId, CmdError> {
    match prov.find_account(key).await? {
        Some(a) => Ok(a.id),
        None => Err(ServiceError::no_such_account(key).into()),
    }
}

/// `gmi {account}`: the mailbox id and the bytes it uses.
pub(super) async fn get_mailbox_info(
    prov: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let id = account_id(prov, &a[0]).await?;
    let body = json!({ "_jsns": "urn:zimbraAdmin", "mbox": { "id": id.to_string() } });
    let resp = call(prov, "GetMailboxRequest", body).await?;
    let mbox = first(&resp["mbox"]);
    Ok(format!(
        "mailboxId: {}\nquotaUsed: {}\n",
        text(&mbox["mbxid"]),
        text(&mbox["s"])
    ))
}

/// `gqu {server}`: each account's name, quota limit and bytes used, one per line.
pub(super) async fn get_quota_usage(
    prov: &Provisioning,
    _a: &[String],
) -> Result<String, CmdError> {
    let body = json!({ "_jsns": "urn:zimbraAdmin", "limit": 0 });
    let resp = call(prov, "GetQuotaUsageRequest", body).await?;
    let mut out = String::new();
    let rows = match &resp["account"] {
        Value::Array(rows) => rows.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    for r in rows {
        out.push_str(&format!(
            "{} {} {}\n",
            text(&r["name"]),
            text(&r["limit"]),
            text(&r["used"])
        ));
    }
    Ok(out)
}

/// `rim {account} {start|status|cancel}`: the server's reindex status, and its
/// progress while one runs.
pub(super) async fn reindex_mailbox(prov: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let action = a[1].to_ascii_lowercase();
    if !matches!(action.as_str(), "start" | "status" | "cancel") {
        return Err(CmdError::Usage);
    }
    // LIMITATION: `types`/`ids` after the action (reindex only some items) are not
    // taken: the whole mailbox is reindexed.
    let id = account_id(prov, &a[0]).await?;
    let body = json!({
        "_jsns": "urn:zimbraAdmin",
        "action": action,
        "mbox": { "id": id.to_string() },
    });
    let resp = call(prov, "ReIndexRequest", body).await?;
    let mut out = format!("status: {}\n", text(&resp["status"]));
    let p = first(&resp["progress"]);
    if !p.is_null() {
        out.push_str(&format!(
            "progress: numSucceeded={}, numFailed={}, numRemaining={}\n",
            text(&p["numSucceeded"]),
            text(&p["numFailed"]),
            text(&p["numRemaining"])
        ));
    }
    Ok(out)
}

/// `rmc {account}`: recounts the mailbox's usage and prints it.
pub(super) async fn recalculate_mailbox_counts(
    prov: &Provisioning,
    a: &[String],
) -> Result<String, CmdError> {
    let id = account_id(prov, &a[0]).await?;
    let body = json!({ "_jsns": "urn:zimbraAdmin", "mbox": { "id": id.to_string() } });
    let resp = call(prov, "RecalculateMailboxCountsRequest", body).await?;
    Ok(format!(
        "account: {}\nquotaUsed: {}\n",
        a[0],
        text(&first(&resp["mbox"])["used"])
    ))
}

/// `vi {account}`: the server's check of the mailbox's index; a damaged index prints
/// the diagnosis and fails (non-zero exit), as Zimbra's verifyIndex does.
pub(super) async fn verify_index(prov: &Provisioning, a: &[String]) -> Result<String, CmdError> {
    let id = account_id(prov, &a[0]).await?;
    let body = json!({ "_jsns": "urn:zimbraAdmin", "mbox": { "id": id.to_string() } });
    let resp = call(prov, "VerifyIndexRequest", body).await?;
    let status = text(&resp["status"]);
    let message = text(&resp["message"]);
    let out = format!("status: {status}\n{message}\n");
    if status == "true" {
        Ok(out)
    } else {
        Err(CmdError::Partial(
            out,
            ServiceError::failure(format!("the index of {} is damaged", a[0])),
        ))
    }
}
