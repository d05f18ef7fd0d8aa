//! `zmrestore -a <account...>|all [-lb label] [-restoreToTime t|-restoreToRedoSeq n
//! |-restoreToIncrLabel l] [-rf] [-br] [-c] [-ca -pre prefix] [--skipDeletes]
//! [-skipDeletedAccounts] [--ignoreRedoErrors] [-t target]`: restores accounts of this
//! zcs home from its backups: the full backup, the incrementals after it, then (unless
//! `-br`) the server's own archived and current redo logs, up to the point in time.
//!
//! While the server runs, the restore runs inside it: this command sends an admin
//! `RestoreRequest` to the server's admin port (TLS, the certificate pinned to the one
//! in this home) with an admin token it mints and revokes itself (it can read the
//! directory, like Zimbra's tools run as the zimbra user). With the server stopped, it
//! takes the home lock and restores offline, as `zmrestoreoffline` does.

use std::process::ExitCode;

use zcs_backup::BackupPaths;
use zcs_backup::commands::RestoreArgs;
use zcs_core::EntryKind;
use zcs_directory::Provisioning;
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;
use zcs_server::soap::token::{self, TokenData};

#[tokio::main]
async fn main() -> ExitCode {
    let args = match RestoreArgs::parse_args("zmrestore", std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let res = async {
        let home = Home::from_env().map_err(|e| e.to_string())?;
        args.options().map_err(|e| e.to_string())?;
        if zcs_server::control::running_pid(&home).is_some() {
            let prov = zcs_server::bootstrap::open_provisioning(&home)
                .await
                .map_err(|e| e.to_string())?;
            return online(&home, &prov, &args).await;
        }
        let _lock = home.lock().map_err(|e| {
            format!("{e} (the server holds it but does not answer; retry or stop it)")
        })?;
        zcs_server::bootstrap::init(&home)
            .await
            .map_err(|e| e.to_string())?;
        let paths = backup_paths(&home)?;
        let prov = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        zcs_backup::cli::restore_offline(&paths, prov.directory(), &args).await
    }
    .await;
    zcs_backup::cli::finish("zmrestore", res)
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home) -> Result<BackupPaths, String> {
    let lc = LocalConfig::load(home).map_err(|e| format!("load local config: {e}"))?;
    Ok(zcs_backup::cli::paths_from(home.root(), |k| lc.get(k)))
}

/// Runs the restore inside the running server through its admin API.
async fn online(home: &Home, prov: &Provisioning, cmd: &RestoreArgs) -> Result<String, String> {
    let addr = zcs_server::control::read_listeners(home)
        .into_iter()
        .find(|l| l.protocol == "admin" && l.error.is_none())
        .map(|l| l.addr)
        .ok_or("the server runs but reports no admin listener")?;
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let admins = prov
        .directory()
        .list_entries(EntryKind::Account, None)
        .await
        .map_err(|e| e.to_string())?;
    let admin = admins
        .into_iter()
        .find(|a| {
            a.attrs
                .get("zimbraIsAdminAccount")
                .is_some_and(|v| v.eq_ignore_ascii_case("TRUE"))
        })
        .ok_or("no admin account to run the restore as")?;
    let key = token::load_key(prov).await.map_err(|e| e.to_string())?;
    let now = chrono::Utc::now().timestamp_millis();
    let data = TokenData {
        account: admin.id,
        expires_ms: now + 24 * 3_600_000,
        admin: true,
        tid: token::new_tid(),
    };
    token::register(prov, &admin, &data, now)
        .await
        .map_err(|e| e.to_string())?;
    let tok = token::encode(&key, &data);
    let res = send_restore(home, addr, &tok, cmd).await;
    if let Ok(Some(fresh)) = prov.find_account(&admin.id.to_string()).await
        && let Err(e) = token::unregister(prov, &fresh, data.tid).await
    {
        eprintln!("zmrestore: could not revoke the token it used: {e}");
    }
    res
}

async fn send_restore(
    home: &Home,
    addr: std::net::SocketAddr,
    tok: &str,
    cmd: &RestoreArgs,
) -> Result<String, String> {
    let opts = cmd.options().map_err(|e| e.to_string())?;
    let mut restore = serde_json::Map::new();
    for (k, v) in zcs_backup::cli::restore_attrs(&opts, &cmd.scope()) {
        restore.insert(k.to_string(), serde_json::Value::String(v));
    }
    if let Some(t) = cmd.target.as_ref().filter(|t| !t.is_empty()) {
        restore.insert("target".into(), serde_json::Value::String(t.clone()));
    }
    let accounts: Vec<serde_json::Value> = opts
        .accounts
        .iter()
        .map(|a| serde_json::json!({ "name": a }))
        .collect();
    restore.insert("account".into(), serde_json::Value::Array(accounts));
    let body = serde_json::json!({
        "Header": { "context": { "_jsns": "urn:zimbra", "authToken": tok } },
        "Body": { "RestoreRequest": { "_jsns": "urn:zimbraAdmin", "restore": restore } }
    })
    .to_string();
    let reply = zcs_server::admin_client::post(home, addr, tok, &body).await?;
    let json: serde_json::Value =
        serde_json::from_str(&reply).map_err(|e| format!("bad reply from the server: {e}"))?;
    let body = &json["Body"];
    if let Some(fault) = body.get("Fault") {
        let why = fault["Reason"]["Text"].as_str().unwrap_or("restore failed");
        return Err(why.to_string());
    }
    let resp = &body["RestoreResponse"];
    let mut out = format!(
        "restored online from {}\n",
        resp["label"].as_str().unwrap_or("")
    );
    let mut failed = false;
    for a in resp["account"].as_array().into_iter().flatten() {
        let name = a["name"].as_str().unwrap_or("");
        match (a["restoredAs"].as_str(), a["error"].as_str()) {
            (Some(to), _) => out.push_str(&format!("restored {name} as {to}\n")),
            (None, why) => {
                failed = true;
                out.push_str(&format!("FAILED {name}: {}\n", why.unwrap_or("")));
            }
        }
    }
    for a in resp["skipped"].as_array().into_iter().flatten() {
        let name = a["name"].as_str().unwrap_or("");
        out.push_str(&format!("skipped {name}: deleted since the backup\n"));
    }
    for d in resp["redoDamaged"].as_array().into_iter().flatten() {
        let file = d["file"].as_str().unwrap_or("");
        out.push_str(&format!(
            "WARNING: the server's redo log was damaged: {file}\n"
        ));
    }
    if let Some(p) = resp["localConfigRestored"].as_str() {
        out.push_str(&format!(
            "local config of the backup written to {p} (compare it with the live one and \
             swap by hand)\n"
        ));
    }
    let aborted: Vec<&str> = resp["aborted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str())
        .collect();
    if !aborted.is_empty() {
        failed = true;
        out.push_str(&format!(
            "restore aborted by zmbackupabort -r; not restored: {}\n",
            aborted.join(" ")
        ));
    }
    out.push_str(&format!(
        "redo records replayed: {} (failed {})\n",
        resp["redoApplied"].as_str().unwrap_or("0"),
        resp["redoFailed"].as_str().unwrap_or("0")
    ));
    out.push_str(&format!(
        "records from the server's redo logs: {}\n",
        resp["serverRedoRecords"].as_str().unwrap_or("0")
    ));
    if let Some(why) = resp["serverRedoSkipped"].as_str() {
        out.push_str(&format!(
            "the server's redo logs were not replayed: {why}\n"
        ));
    }
    if failed { Err(out) } else { Ok(out) }
}
