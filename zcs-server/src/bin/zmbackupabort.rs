//! `zmbackupabort [-lb label]`: asks the running backup of this zcs home to stop; it
//! removes its partial session.

use std::process::ExitCode;

use zcs_backup::BackupPaths;
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let label = args
        .iter()
        .position(|a| a == "-lb" || a == "--label")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let res = Home::from_env()
        .map_err(|e| e.to_string())
        .and_then(|home| backup_paths(&home))
        .and_then(|paths| {
            zcs_backup::commands::abort(&paths, label.as_deref()).map_err(|e| e.to_string())
        });
    finish("zmbackupabort", res)
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home) -> Result<BackupPaths, String> {
    let lc = LocalConfig::load(home).map_err(|e| format!("load local config: {e}"))?;
    let path = |key: &str, dflt: std::path::PathBuf| {
        lc.get(key)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .unwrap_or(dflt)
    };
    Ok(BackupPaths {
        db: path("zcs_store_db", home.db().join("mailbox.db")),
        store: path("zcs_store_volume", home.store()),
        redolog: path("zcs_redolog_directory", home.redolog()),
        target: path("zimbraBackupTarget", home.backup()),
    })
}

fn finish(tool: &str, res: Result<String, String>) -> ExitCode {
    match res {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{tool}: {e}");
            ExitCode::from(1)
        }
    }
}
