//! `zmrestoreoffline -a <account...>|all [-lb label] [-restoreToTime t|-restoreToRedoSeq n
//! |-restoreToIncrLabel l] [-rf] [-br] [-c] [-ca -pre prefix] [--skipDeletes]
//! [-skipDeletedAccounts] [--ignoreRedoErrors] [-t target]`: restores accounts of this
//! zcs home from its backups while its server is stopped (disaster recovery: the
//! service must not start before the data is back). It takes the home lock and opens
//! the store itself; `zmrestore` is the online form. After the backup's redo records
//! it replays the home's own archived and current redo logs (unless `-br`).

use std::process::ExitCode;

use zcs_backup::commands::RestoreArgs;
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match RestoreArgs::parse_args("zmrestoreoffline", std::env::args().skip(1).collect())
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
        let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
        args.check_local_server(&lc.get("zimbra_server_hostname").unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let paths = zcs_backup::cli::paths_from(home.root(), |k| lc.get(k));
        let prov = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        zcs_backup::cli::restore_offline(&paths, prov.directory(), &args).await
    }
    .await;
    zcs_backup::cli::finish("zmrestoreoffline", res)
}
