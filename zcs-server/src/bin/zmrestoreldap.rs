//! `zmrestoreldap -lb <label> [-a account...] [-lbs]`: puts directory entries back from
//! a backup session, through whichever directory backend this home uses.

use std::process::ExitCode;

use zcs_backup::BackupPaths;
use zcs_backup::commands::{self, RestoreLdapArgs};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match commands::parse::<RestoreLdapArgs>(
        "zmrestoreldap",
        std::env::args().skip(1).collect(),
    ) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let res = async {
        let home = Home::from_env().map_err(|e| e.to_string())?;
        let paths = backup_paths(&home)?;
        let prov = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        commands::restore_ldap(&paths, prov.directory(), &args)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    finish("zmrestoreldap", res)
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
