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
    zcs_backup::cli::finish("zmrestoreldap", res)
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home) -> Result<BackupPaths, String> {
    let lc = LocalConfig::load(home).map_err(|e| format!("load local config: {e}"))?;
    Ok(zcs_backup::cli::paths_from(home.root(), |k| lc.get(k)))
}
