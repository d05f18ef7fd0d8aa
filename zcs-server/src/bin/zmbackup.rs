//! `zmbackup {-f|-i|-del spec} [-a all|account...]`: an online backup of this zcs home
//! into `$ZCS_HOME/backup` while the server runs (see `zcs_backup`). The backup report
//! (`zimbraBackupReportEmailRecipients`) goes into this home's mail queue, which the
//! server delivers (at once when it runs, at its next start otherwise).

use std::process::ExitCode;
use std::sync::Arc;

use zcs_backup::BackupPaths;
use zcs_backup::backup::report::{MailFuture, Mailer};
use zcs_backup::commands::{self, BackupArgs, BackupEnv};
use zcs_server::home::Home;
use zcs_server::localconfig::LocalConfig;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args =
        match commands::parse::<BackupArgs>("zmbackup", std::env::args().skip(1).collect()) {
            Ok(a) => a,
            Err(e) => e.exit(),
        };
    let res = async {
        let home = Home::from_env().map_err(|e| e.to_string())?;
        let lc = LocalConfig::load(&home).map_err(|e| format!("load local config: {e}"))?;
        let paths = backup_paths(&home, &lc);
        if args.server.is_empty() {
            args.server = lc.get("zimbra_server_hostname").unwrap_or_default();
        }
        let env = BackupEnv {
            archive_keep: lc
                .get("backup_archived_redolog_keep_time")
                .and_then(|v| v.trim().parse().ok())
                .map(std::time::Duration::from_secs),
        };
        zcs_backup::backup::report::set_mailer(Arc::new(QueueMailer {
            dir: home.root().join("data").join("mta").join("queue"),
        }));
        let prov = zcs_server::bootstrap::open_provisioning(&home)
            .await
            .map_err(|e| e.to_string())?;
        commands::backup_with(&paths, prov.directory(), &args, &env)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    zcs_backup::cli::finish("zmbackup", res)
}

/// Puts backup reports into the home's mail queue (`data/mta/queue`), from the null
/// sender as the server's other notices.
struct QueueMailer {
    dir: std::path::PathBuf,
}

impl Mailer for QueueMailer {
    fn send<'a>(&'a self, recipients: &'a [String], message: &'a [u8]) -> MailFuture<'a> {
        Box::pin(async move {
            let queue = zcs_mta::queue::Queue::open_admin(&self.dir, Default::default())
                .map_err(|e| format!("open mail queue: {e}"))?;
            zcs_server::mta::outbound::enqueue(&queue, "", recipients, message)
                .await
                .map(drop)
        })
    }
}

/// The backup paths of `home`, as its local config names them.
fn backup_paths(home: &Home, lc: &LocalConfig) -> BackupPaths {
    zcs_backup::cli::paths_from(home.root(), |k| lc.get(k))
}
