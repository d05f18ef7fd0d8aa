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
    zcs_backup::cli::finish("zmbackupabort", res)
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home) -> Result<BackupPaths, String> {
    let lc = LocalConfig::load(home).map_err(|e| format!("load local config: {e}"))?;
    Ok(zcs_backup::cli::paths_from(home.root(), |k| lc.get(k)))
}
