//! `zmstatctl start|stop|status|rotate`: controls the statistics the server writes to
//! `log/zmstat/*.csv`. The server is the collector; `stop` and `start` turn its samples
//! off and on (kept across restarts), `status` says whether samples are being written,
//! and `rotate` moves today's files into a dated directory so new ones begin.

use std::process::ExitCode;

use zcs_server::control;
use zcs_server::home::Home;
use zcs_server::metrics;

const USAGE: &str = "usage: zmstatctl start|stop|status|rotate";

fn main() -> ExitCode {
    let Some(cmd) = std::env::args().nth(1) else {
        eprintln!("{USAGE}");
        return ExitCode::from(1);
    };
    let home = match Home::from_env() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("zmstatctl: {e}");
            return ExitCode::from(1);
        }
    };
    let flag = metrics::stopped_flag(&home);
    let result = match cmd.as_str() {
        "start" => match std::fs::remove_file(&flag) {
            Ok(()) => Ok("zmstat collection started".to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok("zmstat collection already started".to_string())
            }
            Err(e) => Err(format!("{}: {e}", flag.display())),
        },
        "stop" => flag
            .parent()
            .map(std::fs::create_dir_all)
            .transpose()
            .and_then(|_| std::fs::write(&flag, b"stopped by zmstatctl\n"))
            .map(|()| "zmstat collection stopped".to_string())
            .map_err(|e| format!("{}: {e}", flag.display())),
        "status" => {
            let running = control::running_pid(&home).is_some();
            if running && !flag.exists() {
                Ok("zmstat: Running".to_string())
            } else {
                println!("zmstat: Stopped");
                return ExitCode::from(1);
            }
        }
        "rotate" => metrics::rotate_now(&home.log().join("zmstat"), chrono::Local::now())
            .map(|d| format!("zmstat files moved to {}", d.display()))
            .map_err(|e| e.to_string()),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(m) => {
            println!("{m}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zmstatctl: {e}");
            ExitCode::from(1)
        }
    }
}
