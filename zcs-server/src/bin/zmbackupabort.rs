//! `zmbackupabort [-lb label] [-r]`: asks the running backup of this zcs home to stop
//! (it removes its partial session), or with `-r` (`--restore`) the running restore to
//! stop after the account in progress (it reports the accounts it did not restore).

use std::process::ExitCode;

use zcs_backup::BackupPaths;
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: zmbackupabort [-lb <label>] [-r|--restore] [-s <server>] [-t <target>]");
        return ExitCode::SUCCESS;
    }
    let value = |names: &[&str]| {
        args.iter()
            .position(|a| names.contains(&a.as_str()))
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let label = value(&["-lb", "--label"]);
    let target = value(&["-t", "--target"]);
    let restore = args.iter().any(|a| a == "-r" || a == "--restore");
    let res = Home::from_env()
        .map_err(|e| e.to_string())
        .and_then(|home| backup_paths(&home))
        .and_then(|mut paths| {
            if let Some(t) = target.filter(|t| !t.is_empty()) {
                paths.target = t.into();
            }
            if restore {
                zcs_backup::commands::abort_restore(&paths)
            } else {
                zcs_backup::commands::abort(&paths, label.as_deref())
            }
            .map_err(|e| e.to_string())
        });
    zcs_backup::cli::finish("zmbackupabort", res)
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home) -> Result<BackupPaths, String> {
    let lc = LocalConfig::load(home).map_err(|e| format!("load local config: {e}"))?;
    Ok(zcs_backup::cli::paths_from(home.root(), |k| lc.get(k)))
}
