//! `zmhsm`: starts, watches and aborts an HSM session of this zcs home, which moves the
//! blobs of items matching `zimbraHsmPolicy` to the current secondary volume.
//!
//! Works while the server runs: the pass reads the database (SQLite WAL) and moves blob
//! files (copy, fsync, delete), and the server finds a moved blob in its new volume. `-t`
//! runs the session in the foreground and returns when it ends; `-u` (or `-s` with no
//! server name) shows the last session from its status file; `-a` asks a running one to
//! stop after its current batch.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;
use zcs_store::StoreConfig;
use zcs_store::hsm::{self, HsmPolicy, HsmStatus};

const USAGE: &str = "usage: zmhsm {-t|-u|-a} [-s server] [--policy <policy>]...
  -t --start      run an HSM session now (returns when it ends)
  -u --status     show the last session (also -s with no server name)
  -a --abort      ask the running session to stop after its current batch
  -s --server     accepted; only this server (localhost) is managed
     --policy     use this policy instead of zimbraHsmPolicy (repeatable)";

/// Zimbra's default `zimbraHsmPolicy`.
const DEFAULT_POLICY: &str = "message,document:before:-30days";
/// Zimbra's default `zimbraHsmBatchSize`.
const DEFAULT_BATCH: usize = 10_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("start runtime: {e}")),
    };
    match rt.block_on(run(&args)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &str) -> ExitCode {
    eprintln!("zmhsm: {e}");
    ExitCode::from(1)
}

/// The store paths of `home`, as its local config names them.
fn store_config(home: &Home, lc: &LocalConfig) -> StoreConfig {
    let path = |key: &str, dflt: PathBuf| {
        lc.get(key)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or(dflt)
    };
    StoreConfig {
        db_path: path("zcs_store_db", home.db().join("mailbox.db")),
        blob_root: path("zcs_store_volume", home.store()),
        redo_dir: path("zcs_redolog_directory", home.redolog()),
    }
}

/// `zimbraHsmPolicy` and `zimbraHsmBatchSize`: the server's values, else the global
/// config's, else Zimbra's defaults.
async fn configured(home: &Home, lc: &LocalConfig) -> Result<(Vec<String>, usize), String> {
    let prov = zcs_server::bootstrap::open_provisioning(home)
        .await
        .map_err(|e| format!("open directory: {e}"))?;
    let global = prov.global_config().await.map_err(|e| e.to_string())?;
    let host = lc.get("zimbra_server_hostname").unwrap_or_default();
    let server = prov
        .get_server(&zcs_directory::EntryKey::Name(host))
        .await
        .ok();
    let pick = |name: &str| -> Vec<String> {
        server
            .as_ref()
            .map(|s| s.attrs.get_all(name).to_vec())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| global.attrs.get_all(name).to_vec())
    };
    let mut policies = pick("zimbraHsmPolicy");
    if policies.is_empty() {
        policies.push(DEFAULT_POLICY.to_string());
    }
    let batch = pick("zimbraHsmBatchSize")
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BATCH);
    Ok((policies, batch))
}

fn ms_to_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn render(s: &HsmStatus) -> String {
    let end = if s.running {
        "running".to_string()
    } else {
        ms_to_text(s.finished_ms)
    };
    let mut out = format!(
        "HSM session: {}\n  Started: {}\n  Finished: {end}\n  Destination volume: {}\n  \
         Blobs selected: {}\n  Blobs moved: {}\n  Bytes moved: {}\n  Aborted: {}\n",
        if s.running { "running" } else { "completed" },
        ms_to_text(s.started_ms),
        s.dest_volume,
        s.blobs_selected,
        s.blobs_moved,
        s.bytes_moved,
        s.aborted
    );
    if let Some(e) = &s.error {
        out.push_str(&format!("  Error: {e}\n"));
    }
    out
}

async fn run(args: &[String]) -> Result<String, String> {
    let mut action = None;
    let mut policies = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).filter(|n| !n.starts_with('-'));
        match a {
            "-t" | "--start" | "start" => action = Some("start"),
            "-u" | "--status" | "status" => action = Some("status"),
            "-a" | "--abort" | "abort" => action = Some("abort"),
            "-s" | "--server" => match next {
                Some(_) => i += 1,
                None => action = Some("status"),
            },
            "--policy" => {
                policies.push(next.ok_or("--policy needs a value")?.clone());
                i += 1;
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
        i += 1;
    }
    let home = Home::from_env().map_err(|e| e.to_string())?;
    let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
    let cfg = store_config(&home, &lc);
    match action {
        Some("status") => Ok(HsmStatus::load(&cfg.db_path)
            .map(|s| render(&s))
            .unwrap_or_else(|| "No HSM session has run.\n".to_string())),
        Some("abort") => {
            if hsm::request_abort(&cfg.db_path).map_err(|e| e.to_string())? {
                Ok("Abort requested; the session stops after its current batch.\n".into())
            } else {
                Ok("No HSM session is running.\n".into())
            }
        }
        Some("start") => {
            let (configured, batch) = configured(&home, &lc).await?;
            let texts = if policies.is_empty() {
                configured
            } else {
                policies
            };
            let now = chrono::Utc::now().timestamp_millis();
            let parsed = texts
                .iter()
                .map(|p| HsmPolicy::parse(p, now))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            zcs_store::VolumeAdmin::open(&cfg.db_path, &cfg.blob_root)
                .await
                .map_err(|e| format!("open volume table: {e}"))?;
            let blobs = Arc::new(
                zcs_store::VolumeBlobStore::open(&cfg.db_path).map_err(|e| e.to_string())?,
            );
            let st = hsm::run(&cfg.db_path, blobs, &parsed, batch)
                .await
                .map_err(|e| e.to_string())?;
            Ok(render(&st))
        }
        _ => Err(format!("one of -t -u -a is required\n{USAGE}")),
    }
}
