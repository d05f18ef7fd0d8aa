//! `zmmtactl`: control the MTA of this zcs home, as Zimbra's `zmmtactl` drives Postfix.
//! `reload` makes the running listeners rebuild their settings (`zimbraMta*`, spam and
//! virus settings, local config) for their next session, without a restart; `status`
//! says when the last reload was asked. The MTA runs inside `zcs-server`: `start`,
//! `stop` and `restart` are `zmcontrol`'s.

use std::process::ExitCode;

use zcs_server::home::Home;
use zcs_server::mta::reload::{reload_stamp, request_reload};

const USAGE: &str = "usage: zmmtactl reload|status";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zmmtactl: {e}");
            return ExitCode::from(1);
        }
    };
    match args.first().map(String::as_str) {
        Some("reload") if args.len() == 1 => match request_reload(home.root()) {
            Ok(_) => {
                println!("Reloading MTA configuration...done.");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("zmmtactl: cannot ask for a reload: {e}");
                ExitCode::from(1)
            }
        },
        Some("status") if args.len() == 1 => {
            let stamp = reload_stamp(home.root());
            match std::fs::read_to_string(&stamp) {
                Ok(when) => println!("last reload asked at {}", when.trim()),
                Err(_) => println!("no reload asked since install"),
            }
            ExitCode::SUCCESS
        }
        Some("start" | "stop" | "restart") => {
            eprintln!("zmmtactl: the MTA runs inside zcs-server; use zmcontrol");
            ExitCode::from(1)
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(64)
        }
    }
}
