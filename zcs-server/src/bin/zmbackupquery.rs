//! `zmbackupquery [-a account] [-lb label] [--type full|incremental] [-v]`: lists the
//! backup sessions of this zcs home.

use std::process::ExitCode;

use zcs_backup::BackupPaths;
use zcs_backup::commands::{self, QueryArgs};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

fn main() -> ExitCode {
    zcs_server::tool::default_sigpipe();
    let args =
        match commands::parse::<QueryArgs>("zmbackupquery", std::env::args().skip(1).collect()) {
            Ok(a) => a,
            Err(e) => e.exit(),
        };
    let res = Home::from_env()
        .map_err(|e| e.to_string())
        .and_then(|home| backup_paths(&home))
        .and_then(|paths| commands::query(&paths, &args).map_err(|e| e.to_string()));
    zcs_backup::cli::finish("zmbackupquery", res)
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home) -> Result<BackupPaths, String> {
    let lc = LocalConfig::load(home).map_err(|e| format!("load local config: {e}"))?;
    Ok(zcs_backup::cli::paths_from(home.root(), |k| lc.get(k)))
}
