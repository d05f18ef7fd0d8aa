//! `zmrestore -a <account...>|all [-lb label] [-restoreToTime t|-restoreToRedoSeq n]
//! [-rf] [-c] [-ca -pre prefix] [--skipDeletes] [--ignoreRedoErrors]`: restores accounts
//! of this zcs home from its backups. It takes the home lock and opens the store
//! itself, so the server must be stopped.
//!
//! LIMITATION: no online restore yet: while the server runs, the restore has to run
//! inside it (the integrator's hook, `zcs_backup::restore` on the server's Store).

use std::process::ExitCode;

use zcs_backup::BackupPaths;
use zcs_backup::commands::{self, RestoreArgs};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;
use zcs_store::{Store, StoreConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let args = match commands::parse::<RestoreArgs>("zmrestore", std::env::args().skip(1).collect())
    {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let res = async {
        let home = Home::from_env().map_err(|e| e.to_string())?;
        let _lock = home
            .lock()
            .map_err(|e| format!("{e} (stop the server first: zmcontrol stop)"))?;
        zcs_server::bootstrap::init(&home)
            .await
            .map_err(|e| e.to_string())?;
        let paths = backup_paths(&home)?;
        let prov = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        let store = Store::open(StoreConfig {
            db_path: paths.db.clone(),
            blob_root: paths.store.clone(),
            redo_dir: paths.redolog.clone(),
        })
        .await
        .map_err(|e| format!("open store: {e}"))?;
        let out = commands::restore(&paths, &store, prov.directory(), &args)
            .await
            .map_err(|e| e.to_string());
        store.close().await;
        out
    }
    .await;
    finish("zmrestore", res)
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
