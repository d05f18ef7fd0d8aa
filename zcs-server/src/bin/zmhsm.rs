//! `zmhsm`: starts, watches and aborts an HSM session of this zcs home, which moves the
//! blobs of items matching `zimbraHsmPolicy` to the current secondary volume.
//!
//! Works while the server runs: the pass reads the metadata database (`zcs_store_url`:
//! SQLite in WAL mode, MariaDB or PostgreSQL) and moves blob files (copy, fsync,
//! delete), and the server finds a moved blob in its new volume. `-t`
//! runs the session in the foreground and returns when it ends; `-u` (or `-s` with no
//! server name) shows the last session from its status file; `-a` asks a running one to
//! stop after its current batch.

use std::process::ExitCode;

use zcs_server::home::Home;
use zcs_server::hsm_job;
use zcs_server::localconfig::LocalConfig;
use zcs_store::hsm::{self, HsmStatus};

const USAGE: &str = "usage: zmhsm {-t|-u|-a} [-s server] [--policy <policy>]...
  -t --start      run an HSM session now (returns when it ends)
  -u --status     show the last session (also -s with no server name)
  -a --abort      ask the running session to stop after its current batch
  -s --server     accepted; only this server (localhost) is managed
     --policy     use this policy instead of zimbraHsmPolicy (repeatable)";

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

/// `zimbraHsmPolicy` and `zimbraHsmBatchSize` in force for this server.
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
    Ok(hsm_job::policy(server.as_ref(), &global))
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
    let cfg = hsm_job::store_config(&home, &lc);
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
            let st = hsm_job::run_session(&cfg, &texts, batch).await?;
            Ok(render(&st))
        }
        _ => Err(format!("one of -t -u -a is required\n{USAGE}")),
    }
}
