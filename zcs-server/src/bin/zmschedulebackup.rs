//! `zmschedulebackup {-q|-s|-A|-R|-F|-D} [f|i|d] ["schedule"]`: the backup schedule of
//! this zcs home, kept in `conf/backup-schedule.json`; the server runs it.

use std::process::ExitCode;

use zcs_server::home::Home;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = Home::from_env()
        .map_err(|e| e.to_string())
        .and_then(|home| {
            zcs_backup::commands::schedule(&home.conf(), &args).map_err(|e| e.to_string())
        });
    zcs_backup::cli::finish("zmschedulebackup", res)
}
