//! `zmplayredo --logdir <dir> [--fromSeq n] [--toSeq n] [--toTime t] [-m mb=zimbraId]`:
//! replays the redo logs of a lost server (archived and current) into this zcs home's
//! mailboxes, after an offline restore. Takes the home lock: the server must be stopped.

use std::process::ExitCode;

use zcs_backup::commands::{self, PlayRedoArgs};
use zcs_server::home::Home;
use zcs_store::{Store, StoreConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let args =
        match commands::parse::<PlayRedoArgs>("zmplayredo", std::env::args().skip(1).collect()) {
            Ok(a) => a,
            Err(e) => e.exit(),
        };
    let res = async {
        let home = Home::from_env().map_err(|e| e.to_string())?;
        let _lock = home
            .lock()
            .map_err(|e| format!("{e} (stop the server first: zmcontrol stop)"))?;
        let store = Store::open(StoreConfig {
            db_path: home.db().join("mailbox.db"),
            blob_root: home.store(),
            redo_dir: home.redolog(),
        })
        .await
        .map_err(|e| format!("open store: {e}"))?;
        let out = commands::play_redo(&store, &args)
            .await
            .map_err(|e| e.to_string());
        store.close().await;
        out
    }
    .await;
    zcs_backup::cli::finish("zmplayredo", res)
}
